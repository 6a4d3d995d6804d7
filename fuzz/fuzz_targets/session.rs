//! A whole user agent (session-core's sans-IO core: transactions, dialogs, calls, SDP) fed
//! arbitrary datagrams with time passing between them: nothing panics, and once shut down and
//! every timer has run out it holds no session, call or server transaction
//! (`session_core::fuzzing::feed`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = session_core::fuzzing::feed(data);
});
