//! Adding header lines to a message we build: ahead of Content-Length, which stays last, so
//! the message reads like the builders' output.

use sip_message::{HeaderName, Headers, Text};

/// Inserts `lines` in order just before Content-Length (at the end if there is none).
pub(crate) fn insert_before_length<N, V>(headers: &mut Headers, lines: impl IntoIterator<Item = (N, V)>)
where
    N: Into<HeaderName>,
    V: Into<Text>,
{
    let start = headers.position(sip_message::StandardHeader::ContentLength).unwrap_or(headers.len());
    for (at, (name, value)) in (start..).zip(lines) {
        headers.insert(at, name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_message::StandardHeader as H;

    #[test]
    fn goes_before_content_length() {
        let mut h = Headers::new();
        h.push(H::CallId, "x");
        h.push(H::ContentLength, "0");
        insert_before_length(&mut h, [(H::Contact, "<sip:a@b>"), (H::Route, "<sip:p;lr>")]);
        let names: Vec<_> = h.iter().map(|l| l.name().as_str().to_owned()).collect();
        assert_eq!(names, ["Call-ID", "Contact", "Route", "Content-Length"]);
    }
}
