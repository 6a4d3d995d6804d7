//! The stream framer fed in chunks whose sizes the fuzzer picks: whatever the split, the
//! same frames come out as when the stream is fed whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip_message::{Frame, Limits, StreamFramer};

fn drain(f: &mut StreamFramer, out: &mut Vec<Result<Frame, ()>>) {
    loop {
        match f.next_frame() {
            Ok(Some(fr)) => out.push(Ok(fr)),
            Ok(None) => return,
            Err(_) => {
                out.push(Err(()));
                return;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else { return };
    let limits = Limits { max_message_size: 4096, ..Limits::default() };
    let mut whole = StreamFramer::new(limits);
    let mut a = Vec::new();
    whole.push(stream);
    drain(&mut whole, &mut a);
    assert!(whole.buffered() <= 4096 + 4);

    let mut chunked = StreamFramer::new(limits);
    let mut b = Vec::new();
    for chunk in stream.chunks(usize::from(split.max(1))) {
        chunked.push(chunk);
        drain(&mut chunked, &mut b);
        if b.last().is_some_and(Result::is_err) {
            break;
        }
    }
    // Keep-alives may be classified differently at split points; messages may not.
    let msgs = |v: &[Result<Frame, ()>]| {
        v.iter().filter_map(|f| match f { Ok(Frame::Message(m)) => Some(m.clone()), _ => None }).collect::<Vec<_>>()
    };
    if !a.iter().any(Result::is_err) && !b.iter().any(Result::is_err) {
        assert_eq!(msgs(&a), msgs(&b));
    }
});
