//! [`HeaderName`]: case-insensitive header names, with the compact forms of RFC 3261 §7.3.3
//! and its extensions.

use crate::text::Text;
use std::fmt;

macro_rules! standard_headers {
    ($($variant:ident => $name:literal, $lower:literal, $compact:expr;)*) => {
        /// A header this crate knows by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum StandardHeader {
            $(
                #[doc = $name]
                $variant,
            )*
        }

        impl StandardHeader {
            /// The canonical spelling.
            pub const fn as_str(self) -> &'static str {
                StandardHeader::NAMES[self as usize]
            }

            /// The compact form, if the header has one.
            pub const fn compact(self) -> Option<char> {
                match StandardHeader::COMPACT[self as usize] {
                    0 => None,
                    c => Some(c as char),
                }
            }

            /// The canonical spellings, in the order of `ALL`.
            const NAMES: &'static [&'static str] = &[$($name,)*];

            /// The canonical spellings followed by ": ", as the serializer writes them.
            const WIRE_NAMES: &'static [&'static str] = &[$(concat!($name, ": "),)*];

            /// Every standard header, in declaration order.
            const ALL: &'static [StandardHeader] = &[$(StandardHeader::$variant,)*];

            /// The lower-case long names, in the order of `ALL`.
            const LOWER: &'static [&'static [u8]] = &[$($lower,)*];

            /// The compact letters (lower-case), in the order of `ALL`; 0 for none.
            const COMPACT: &'static [u8] = &[$({ let c: Option<char> = $compact; match c { Some(c) => c as u8, None => 0 } },)*];
        }
    };
}

/// Where the lookup tables of [`StandardHeader::from_name`] point: an index into
/// `StandardHeader::ALL` plus one, 0 for none.
const NAME_SLOTS: usize = 256;

/// A hash of a name of at least two bytes that is the same for every spelling of it (ASCII
/// case folded) and different for every long name of `StandardHeader::LOWER` (checked when the
/// table is built).
#[inline(always)]
const fn name_hash(name: &[u8]) -> usize {
    let n = name.len();
    let first = (name[0] | 0x20) as usize;
    let last = (name[n - 1] | 0x20) as usize;
    let mid = (name[n / 2] | 0x20) as usize;
    (n + first * 29 + last * 24 + mid) % NAME_SLOTS
}

const fn build_name_table() -> [u8; NAME_SLOTS] {
    let mut t = [0u8; NAME_SLOTS];
    let mut i = 0;
    while i < StandardHeader::LOWER.len() {
        let h = name_hash(StandardHeader::LOWER[i]);
        // A collision is a compile-time error: change the hash if a new header causes one.
        assert!(t[h] == 0, "two standard header names share a hash slot");
        t[h] = (i + 1) as u8;
        i += 1;
    }
    t
}

const fn build_compact_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < StandardHeader::COMPACT.len() {
        let c = StandardHeader::COMPACT[i];
        if c != 0 {
            t[c as usize] = (i + 1) as u8;
            t[c.to_ascii_uppercase() as usize] = (i + 1) as u8;
        }
        i += 1;
    }
    t
}

static NAME_TABLE: [u8; NAME_SLOTS] = build_name_table();
static COMPACT_TABLE: [u8; 256] = build_compact_table();

/// A long name in the form [`fold_eq`] compares against: up to three little-endian words of the
/// lower-case name (the first 8 bytes, bytes 8..16 if it is longer than 16, the last 8; for
/// shorter names the first and last 4 or 2), each with a mask that has 0x20 set on the letters,
/// so that `(word | mask) == lower` accepts exactly both cases of each letter and nothing else.
#[derive(Clone, Copy)]
struct Folded {
    words: [u64; 3],
    masks: [u64; 3],
    len: usize,
    header: StandardHeader,
}

/// Reads `len` (at most 8) bytes of `b` from `at` as a little-endian word.
const fn word(b: &[u8], at: usize, len: usize) -> u64 {
    let mut w = 0u64;
    let mut i = 0;
    while i < len {
        w |= (b[at + i] as u64) << (8 * i);
        i += 1;
    }
    w
}

/// Where the three words of a name of length `n` start, and how long each is.
const fn word_spans(n: usize) -> [(usize, usize); 3] {
    if n >= 8 {
        [(0, 8), (if n > 16 { 8 } else { 0 }, 8), (n - 8, 8)]
    } else if n >= 4 {
        [(0, 4), (0, 4), (n - 4, 4)]
    } else {
        [(0, 2), (0, 2), (n - 2, 2)]
    }
}

const fn build_folded() -> [Folded; StandardHeader::ALL.len()] {
    let mut out =
        [Folded { words: [0; 3], masks: [0; 3], len: 0, header: StandardHeader::Accept }; StandardHeader::ALL.len()];
    let mut i = 0;
    while i < StandardHeader::LOWER.len() {
        let name = StandardHeader::LOWER[i];
        let spans = word_spans(name.len());
        let mut k = 0;
        while k < 3 {
            let (at, len) = spans[k];
            out[i].words[k] = word(name, at, len);
            let mut mask = 0u64;
            let mut j = 0;
            while j < len {
                if name[at + j].is_ascii_lowercase() {
                    mask |= 0x20 << (8 * j);
                }
                j += 1;
            }
            out[i].masks[k] = mask;
            k += 1;
        }
        out[i].len = name.len();
        out[i].header = StandardHeader::ALL[i];
        i += 1;
    }
    out
}

static FOLDED: [Folded; StandardHeader::ALL.len()] = build_folded();

/// Is `name` (at least two bytes) the long name of `f`, in any case?
#[inline(always)]
fn fold_eq(name: &[u8], f: &Folded) -> bool {
    let n = name.len();
    if n != f.len {
        return false;
    }
    let [w0, w1, w2] = if n >= 8 {
        let load = |c: Option<&[u8; 8]>| c.map_or(0, |c| u64::from_le_bytes(*c));
        let first = load(name.first_chunk());
        let mid = if n > 16 { load(name.get(8..).and_then(|m| m.first_chunk())) } else { first };
        [first, mid, load(name.last_chunk())]
    } else if n >= 4 {
        let load = |c: Option<&[u8; 4]>| c.map_or(0, |c| u64::from(u32::from_le_bytes(*c)));
        let first = load(name.first_chunk());
        [first, first, load(name.last_chunk())]
    } else {
        let load = |c: Option<&[u8; 2]>| c.map_or(0, |c| u64::from(u16::from_le_bytes(*c)));
        let first = load(name.first_chunk());
        [first, first, load(name.last_chunk())]
    };
    ((w0 | f.masks[0]) == f.words[0]) & ((w1 | f.masks[1]) == f.words[1]) & ((w2 | f.masks[2]) == f.words[2])
}

impl StandardHeader {
    /// The canonical spelling followed by ": ".
    #[inline]
    pub(crate) fn wire_name(self) -> &'static [u8] {
        StandardHeader::WIRE_NAMES[self as usize].as_bytes()
    }

    /// The compact letter, 0 if there is none.
    #[inline]
    pub(crate) fn compact_byte(self) -> u8 {
        StandardHeader::COMPACT[self as usize]
    }

    /// Looks up a name as received (any case, long or compact form); also returns whether the
    /// compact form was used. One hash, one table load and one comparison of at most three
    /// words.
    #[inline]
    pub(crate) fn from_name(name: &[u8]) -> Option<(StandardHeader, bool)> {
        match name.len() {
            0 => None,
            1 => {
                let i = COMPACT_TABLE[name[0] as usize] as usize;
                Some((*StandardHeader::ALL.get(i.checked_sub(1)?)?, true))
            }
            _ => {
                let f = FOLDED.get((NAME_TABLE[name_hash(name)] as usize).checked_sub(1)?)?;
                if fold_eq(name, f) {
                    Some((f.header, false))
                } else {
                    None
                }
            }
        }
    }
}

standard_headers! {
    Accept => "Accept", b"accept", None;
    AcceptContact => "Accept-Contact", b"accept-contact", Some('a');
    AcceptEncoding => "Accept-Encoding", b"accept-encoding", None;
    AcceptLanguage => "Accept-Language", b"accept-language", None;
    AlertInfo => "Alert-Info", b"alert-info", None;
    Allow => "Allow", b"allow", None;
    AllowEvents => "Allow-Events", b"allow-events", Some('u');
    AuthenticationInfo => "Authentication-Info", b"authentication-info", None;
    Authorization => "Authorization", b"authorization", None;
    CallId => "Call-ID", b"call-id", Some('i');
    CallInfo => "Call-Info", b"call-info", None;
    Contact => "Contact", b"contact", Some('m');
    ContentDisposition => "Content-Disposition", b"content-disposition", None;
    ContentEncoding => "Content-Encoding", b"content-encoding", Some('e');
    ContentLanguage => "Content-Language", b"content-language", None;
    ContentLength => "Content-Length", b"content-length", Some('l');
    ContentType => "Content-Type", b"content-type", Some('c');
    CSeq => "CSeq", b"cseq", None;
    Date => "Date", b"date", None;
    ErrorInfo => "Error-Info", b"error-info", None;
    Event => "Event", b"event", Some('o');
    Expires => "Expires", b"expires", None;
    From => "From", b"from", Some('f');
    Identity => "Identity", b"identity", Some('y');
    InReplyTo => "In-Reply-To", b"in-reply-to", None;
    MaxForwards => "Max-Forwards", b"max-forwards", None;
    MimeVersion => "MIME-Version", b"mime-version", None;
    MinExpires => "Min-Expires", b"min-expires", None;
    MinSe => "Min-SE", b"min-se", None;
    Organization => "Organization", b"organization", None;
    PAssertedIdentity => "P-Asserted-Identity", b"p-asserted-identity", None;
    PPreferredIdentity => "P-Preferred-Identity", b"p-preferred-identity", None;
    Path => "Path", b"path", None;
    Priority => "Priority", b"priority", None;
    Privacy => "Privacy", b"privacy", None;
    ProxyAuthenticate => "Proxy-Authenticate", b"proxy-authenticate", None;
    ProxyAuthorization => "Proxy-Authorization", b"proxy-authorization", None;
    ProxyRequire => "Proxy-Require", b"proxy-require", None;
    RAck => "RAck", b"rack", None;
    Reason => "Reason", b"reason", None;
    RecordRoute => "Record-Route", b"record-route", None;
    ReferTo => "Refer-To", b"refer-to", Some('r');
    ReferredBy => "Referred-By", b"referred-by", Some('b');
    RejectContact => "Reject-Contact", b"reject-contact", Some('j');
    Replaces => "Replaces", b"replaces", None;
    ReplyTo => "Reply-To", b"reply-to", None;
    RequestDisposition => "Request-Disposition", b"request-disposition", Some('d');
    Require => "Require", b"require", None;
    RetryAfter => "Retry-After", b"retry-after", None;
    Route => "Route", b"route", None;
    RSeq => "RSeq", b"rseq", None;
    Server => "Server", b"server", None;
    ServiceRoute => "Service-Route", b"service-route", None;
    SessionExpires => "Session-Expires", b"session-expires", Some('x');
    Subject => "Subject", b"subject", Some('s');
    SubscriptionState => "Subscription-State", b"subscription-state", None;
    Supported => "Supported", b"supported", Some('k');
    Timestamp => "Timestamp", b"timestamp", None;
    To => "To", b"to", Some('t');
    Unsupported => "Unsupported", b"unsupported", None;
    UserAgent => "User-Agent", b"user-agent", None;
    Via => "Via", b"via", Some('v');
    Warning => "Warning", b"warning", None;
    WwwAuthenticate => "WWW-Authenticate", b"www-authenticate", None;
}

/// A header name: a [`StandardHeader`] or any other token, compared case-insensitively.
#[derive(Clone)]
pub enum HeaderName {
    /// A known header.
    Standard(StandardHeader),
    /// Any other header, spelled as received.
    Other(Text),
}

impl HeaderName {
    /// Classifies a name as received (any case, long or compact form). `text` is kept for
    /// unknown names. Returns the name and whether the compact form was used.
    #[cfg(test)]
    pub(crate) fn classify(text: &Text) -> (HeaderName, bool) {
        match StandardHeader::from_name(text.as_bytes()) {
            Some((h, compact)) => (HeaderName::Standard(h), compact),
            None => (HeaderName::Other(text.clone()), false),
        }
    }

    /// A name from a string: standard if known (in any spelling), otherwise kept as given.
    pub fn new(name: &str) -> HeaderName {
        match StandardHeader::from_name(name.as_bytes()) {
            Some((h, _)) => HeaderName::Standard(h),
            None => HeaderName::Other(Text::from(name)),
        }
    }

    /// The canonical spelling for standard headers, the received one for others.
    pub fn as_str(&self) -> &str {
        match self {
            HeaderName::Standard(h) => h.as_str(),
            HeaderName::Other(t) => t.as_str(),
        }
    }

    /// The standard header, if this is one.
    pub fn standard(&self) -> Option<StandardHeader> {
        match self {
            HeaderName::Standard(h) => Some(*h),
            HeaderName::Other(_) => None,
        }
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &HeaderName) -> bool {
        match (self, other) {
            (HeaderName::Standard(a), HeaderName::Standard(b)) => a == b,
            (HeaderName::Other(a), HeaderName::Other(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        }
    }
}

impl Eq for HeaderName {}

impl From<StandardHeader> for HeaderName {
    fn from(h: StandardHeader) -> HeaderName {
        HeaderName::Standard(h)
    }
}

impl From<&str> for HeaderName {
    fn from(s: &str) -> HeaderName {
        HeaderName::new(s)
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_case() {
        for (raw, h, compact) in [
            ("v", StandardHeader::Via, true),
            ("VIA", StandardHeader::Via, false),
            ("i", StandardHeader::CallId, true),
            ("call-ID", StandardHeader::CallId, false),
            ("l", StandardHeader::ContentLength, true),
            ("x", StandardHeader::SessionExpires, true),
            ("www-authenticate", StandardHeader::WwwAuthenticate, false),
        ] {
            assert_eq!(HeaderName::classify(&Text::from(raw)), (HeaderName::Standard(h), compact), "{raw}");
        }
        assert_eq!(HeaderName::new("X-Custom"), HeaderName::new("x-custom"));
        assert_eq!(HeaderName::new("NewFangledHeader").as_str(), "NewFangledHeader");
        assert_eq!(HeaderName::new("q").standard(), None);
    }

    #[test]
    fn every_name_and_compact_form_is_found_in_any_case() {
        for (i, h) in StandardHeader::ALL.iter().enumerate() {
            let name = h.as_str();
            assert_eq!(StandardHeader::from_name(name.as_bytes()), Some((*h, false)), "{name}");
            assert_eq!(StandardHeader::from_name(name.to_ascii_lowercase().as_bytes()), Some((*h, false)));
            assert_eq!(StandardHeader::from_name(name.to_ascii_uppercase().as_bytes()), Some((*h, false)));
            assert_eq!(StandardHeader::LOWER[i], name.to_ascii_lowercase().as_bytes());
            assert_eq!(h.wire_name(), format!("{name}: ").as_bytes());
            assert_eq!(h.compact_byte(), h.compact().map_or(0, |c| c as u8));
            if let Some(c) = h.compact() {
                for c in [c, c.to_ascii_uppercase()] {
                    assert_eq!(StandardHeader::from_name(&[c as u8]), Some((*h, true)), "{c}");
                }
            }
            // Near misses: one byte more, one byte less, one byte changed.
            let mut longer = name.to_owned();
            longer.push('x');
            assert_eq!(StandardHeader::from_name(longer.as_bytes()), None, "{longer}");
            // ("T", one shorter than "To", is its compact form.)
            let shorter = StandardHeader::from_name(&name.as_bytes()[..name.len() - 1]);
            assert!(shorter.is_none_or(|(s, compact)| s != *h || compact), "{name}");
            // Any single byte changed to anything but the other case of a letter.
            for at in 0..name.len() {
                for c in 0..=255u8 {
                    let mut changed = name.as_bytes().to_vec();
                    if c.eq_ignore_ascii_case(&changed[at]) {
                        continue;
                    }
                    changed[at] = c;
                    assert_ne!(StandardHeader::from_name(&changed).map(|(h, _)| h), Some(*h), "{changed:?}");
                }
            }
        }
        let compact: Vec<u8> = (0..=255u8).filter(|&c| StandardHeader::from_name(&[c]).is_some()).collect();
        assert_eq!(compact.len(), 2 * StandardHeader::COMPACT.iter().filter(|&&c| c != 0).count());
        assert_eq!(StandardHeader::from_name(b""), None);
    }
}
