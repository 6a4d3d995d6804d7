//! URIs and name-addrs: parse, compare with themselves, and read every component.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip_message::{NameAddr, Uri};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(u) = Uri::parse(s) {
        assert!(u.equivalent(&u), "a URI equals itself: {s:?}");
        if let Uri::Sip(sip) = u {
            let _ = (sip.user_unescaped(), sip.host(), sip.port_or_default(), sip.params().len(), sip.headers().count());
            assert_eq!(Uri::parse(&sip.to_string()), Ok(u));
        }
    }
    if let Ok(a) = NameAddr::parse(s) {
        let _ = (a.display_name(), a.tag(), a.params().iter().count());
    }
});
