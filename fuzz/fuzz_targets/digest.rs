//! The digest header grammar: challenges and credentials parse or fail cleanly, and what
//! parses renders to text that parses to the same fields.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip_message::auth::{Authorization, Challenge};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(c) = Challenge::parse(s) {
        let again = Challenge::parse(&c.to_string()).expect("a rendered challenge parses");
        assert_eq!(again, c);
    }
    if let Ok(a) = Authorization::parse(s) {
        let again = Authorization::parse(&a.to_string()).expect("rendered credentials parse");
        assert_eq!(again, a);
    }
});
