//! Reliable provisional responses (RFC 3262) as the called side, against sipp as a caller
//! that requires them: the 180 and the 183 with early SDP go reliably, one at a time; a
//! PRACK with the wrong RAck gets 481; the 200, given by the application at once, waits
//! for the PRACK of the 183 (its SDP is the answer, which must arrive first).

use client_core::{ClientBuilder, ClientEvent, EndCause};
use sip_testpeers::{require_peers, Scenario, Sipp, SippOptions};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_requiring_100rel_gets_reliable_1xx_in_order_and_a_wrong_rack_481() {
    require_peers();
    let client =
        ClientBuilder::new().local_address("127.0.0.1:0".parse().expect("addr")).build().await.expect("config");
    let mut events = client.subscribe_events();
    client.start().await.expect("start");
    let addr = client.local_address().expect("address");
    let scenario = Scenario::File(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/prack_uac.xml"));
    let mut sipp = Sipp::start(SippOptions::uac(scenario, addr).service("agent").calls(1)).expect("sipp");
    let call = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(ClientEvent::IncomingCall { call }) = events.recv().await {
                return call.id;
            }
        }
    })
    .await
    .expect("the call arrives");
    // Both go at once; the dialog layer holds each back until the PRACK it waits for.
    client.send_early_media(call).await.expect("183");
    client.answer_call(call).await.expect("answer");
    let code = tokio::task::spawn_blocking(move || sipp.wait(PATIENCE).map(|c| (c, sipp.report())))
        .await
        .expect("join")
        .expect("sipp ends");
    assert_eq!(code.0, 0, "sipp saw 180, 481, 200, 183, 200, 200 in that order:\n{}", code.1);
    let ended = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(ClientEvent::CallEnded { call }) = events.recv().await {
                return call.end.map(|e| e.cause);
            }
        }
    })
    .await
    .expect("the call ends");
    assert_eq!(ended, Some(EndCause::RemoteHangup));
    client.stop().await;
}
