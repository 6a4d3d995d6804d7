//! A whole user agent fed *sequences* of well-formed SIP messages (session-core's
//! `fuzzing::feed_sequence`): six bytes a message choose its kind, call, tags, CSeq and
//! extras, so that the transaction, dialog and session state machines see requests and
//! responses in every order — where random bytes rarely even parse. Nothing panics, and
//! once shut down the agent holds nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = session_core::fuzzing::feed_sequence(data);
});
