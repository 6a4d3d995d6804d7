//! The digest computation itself (RFC 7616 §3.4.1–§3.4.4, RFC 2617 §3.2.2,
//! RFC 2069 for the no-qop form), shared by client and server.

use super::hash::HashFn;
use super::qop::Qop;

/// `H(username ":" realm ":" password)`: the HA1 of a non-`-sess` algorithm
/// and the base of a `-sess` one (RFC 7616 §3.4.2).
pub(crate) fn base_ha1(hash: HashFn, username: &str, realm: &str, password: &str) -> String {
    hash.hex(&[username.as_bytes(), realm.as_bytes(), password.as_bytes()])
}

/// The username hash of RFC 7616 §3.4.4: `H(username ":" realm)`.
pub(crate) fn username_hash(hash: HashFn, username: &str, realm: &str) -> String {
    hash.hex(&[username.as_bytes(), realm.as_bytes()])
}

/// Formats a nonce-count as the 8 lowercase hex digits of RFC 7616 §3.4.
pub(crate) fn nc_hex(nc: u32) -> String {
    format!("{nc:08x}")
}

/// Everything that goes into a request-digest.
pub(crate) struct DigestInput<'a> {
    pub(crate) hash: HashFn,
    pub(crate) session: bool,
    /// The base HA1 in hex (see [`base_ha1`]); may be uppercase when it was
    /// provisioned that way, and is normalised here.
    pub(crate) base_ha1: &'a str,
    pub(crate) nonce: &'a str,
    /// Empty when absent (only possible without qop and without `-sess`).
    pub(crate) cnonce: &'a str,
    pub(crate) qop: Option<&'a Qop>,
    pub(crate) nc: u32,
    pub(crate) method: &'a str,
    pub(crate) uri: &'a str,
    pub(crate) body: &'a [u8],
}

/// The request-digest (`response` parameter) in lowercase hex.
pub(crate) fn request_digest(input: &DigestInput<'_>) -> String {
    let h = input.hash;
    let base = input.base_ha1.to_ascii_lowercase();
    // -sess: HA1 = H(H(user:realm:pass) ":" nonce ":" cnonce), so a third
    // party holding only the base HA1 can derive per-session keys.
    let ha1 =
        if input.session { h.hex(&[base.as_bytes(), input.nonce.as_bytes(), input.cnonce.as_bytes()]) } else { base };
    // A2 = method ":" uri, plus ":" H(body) for auth-int. For an empty SIP
    // body this is H("") (RFC 3261 §22.4).
    let ha2 = match input.qop {
        Some(Qop::AuthInt) => {
            let body_hash = h.hex(&[input.body]);
            h.hex(&[input.method.as_bytes(), input.uri.as_bytes(), body_hash.as_bytes()])
        }
        _ => h.hex(&[input.method.as_bytes(), input.uri.as_bytes()]),
    };
    match input.qop {
        // KD(HA1, nonce ":" nc ":" cnonce ":" qop ":" HA2), KD(s, d) = H(s ":" d).
        Some(qop) => {
            let nc = nc_hex(input.nc);
            h.hex(&[
                ha1.as_bytes(),
                input.nonce.as_bytes(),
                nc.as_bytes(),
                input.cnonce.as_bytes(),
                qop.as_str().as_bytes(),
                ha2.as_bytes(),
            ])
        }
        // RFC 2069 compatibility: KD(HA1, nonce ":" HA2).
        None => h.hex(&[ha1.as_bytes(), input.nonce.as_bytes(), ha2.as_bytes()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc2617_input<'a>(ha1: &'a str, qop: Option<&'a Qop>) -> DigestInput<'a> {
        DigestInput {
            hash: HashFn::Md5,
            session: false,
            base_ha1: ha1,
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            cnonce: "0a4f113b",
            qop,
            nc: 1,
            method: "GET",
            uri: "/dir/index.html",
            body: b"",
        }
    }

    #[test]
    fn rfc2617_section_3_5() {
        let ha1 = base_ha1(HashFn::Md5, "Mufasa", "testrealm@host.com", "Circle Of Life");
        assert_eq!(request_digest(&rfc2617_input(&ha1, Some(&Qop::Auth))), "6629fae49393a05397450978507c4ef1");
        // Uppercase provisioned HA1 gives the same answer.
        let upper = ha1.to_ascii_uppercase();
        assert_eq!(request_digest(&rfc2617_input(&upper, Some(&Qop::Auth))), "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn rfc2069_form_without_qop() {
        let h = HashFn::Md5;
        let ha1 = base_ha1(h, "Mufasa", "testrealm@host.com", "Circle Of Life");
        let ha2 = h.hex(&[b"GET", b"/dir/index.html"]);
        let expected = h.hex(&[ha1.as_bytes(), b"dcd98b7102dd2f0e8b11d0f600bfb0c093", ha2.as_bytes()]);
        assert_eq!(request_digest(&rfc2617_input(&ha1, None)), expected);
    }

    #[test]
    fn auth_int_and_sess_forms() {
        let h = HashFn::Sha256;
        let base = base_ha1(h, "u", "r", "p");
        let input = DigestInput {
            hash: h,
            session: true,
            base_ha1: &base,
            nonce: "n",
            cnonce: "c",
            qop: Some(&Qop::AuthInt),
            nc: 0x1f,
            method: "INVITE",
            uri: "sip:bob@b.example",
            body: b"v=0\r\n",
        };
        let ha1 = h.hex(&[base.as_bytes(), b"n", b"c"]);
        let hbody = h.hex(&[b"v=0\r\n"]);
        let ha2 = h.hex(&[b"INVITE", b"sip:bob@b.example", hbody.as_bytes()]);
        let expected = h.hex(&[ha1.as_bytes(), b"n", b"0000001f", b"c", b"auth-int", ha2.as_bytes()]);
        assert_eq!(request_digest(&input), expected);
    }

    #[test]
    fn nc_is_eight_lowercase_hex_digits() {
        assert_eq!(nc_hex(1), "00000001");
        assert_eq!(nc_hex(0xabcdef), "00abcdef");
        assert_eq!(nc_hex(u32::MAX), "ffffffff");
    }
}
