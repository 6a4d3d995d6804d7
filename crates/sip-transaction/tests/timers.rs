//! Every state and timer of the four transaction state machines on a simulated clock: the
//! RFC 3261 §17 retransmission schedules over UDP and their absence over reliable transports.

mod common;

use common::*;
use sip_message::{Message, Method, StatusCode, Transport};
use sip_transaction::{Config, Event, TxError};
use std::time::Duration;

const MS: fn(u64) -> Duration = Duration::from_millis;

#[test]
fn nict_udp_timer_e_doubles_to_t2_and_timer_f_ends_it() {
    let mut h = Harness::new();
    let tx = h.send(request(Method::Options, "UDP"), peer(Transport::Udp, 5060));
    h.run_to_end();
    // Timer E: 500 ms doubling up to T2 = 4 s; Timer F = 64·T1 = 32 s (§17.1.2.2).
    assert_eq!(h.send_times_ms(), [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    assert_eq!(h.event_time(|e| *e == Event::Timeout { tx }), Some(MS(32_000)));
    assert_eq!(h.event_time(|e| *e == Event::Terminated { tx }), Some(MS(32_000)));
    assert!(h.layer.is_empty());
}

#[test]
fn an_abandoned_nict_stops_retransmitting_and_its_late_response_is_stray() {
    let mut h = Harness::new();
    let req = request(Method::Options, "UDP");
    let tx = h.send(req.clone(), peer(Transport::Udp, 5060));
    h.run_until(MS(600));
    assert!(h.layer.abandon(tx));
    assert!(h.layer.is_empty());
    assert!(!h.layer.abandon(tx), "only once");
    h.run_to_end();
    assert_eq!(h.send_times_ms(), [0, 500], "nothing after the abandon");
    let dropped = h.layer.dropped();
    h.deliver(Message::Response(response_to(&req, StatusCode::OK)), peer(Transport::Udp, 5060));
    assert_eq!(h.layer.dropped(), dropped + 1);
    assert!(!h.has_event(|e| matches!(e, Event::Response { .. } | Event::Timeout { .. } | Event::Terminated { .. })));
}

#[test]
fn nict_tcp_sends_once_and_times_out() {
    let mut h = Harness::new();
    let tx = h.send(request(Method::Options, "TCP"), peer(Transport::Tcp, 5060));
    h.run_to_end();
    assert_eq!(h.send_times_ms(), [0]);
    assert_eq!(h.event_time(|e| *e == Event::Timeout { tx }), Some(MS(32_000)));
}

#[test]
fn nict_proceeding_retransmits_every_t2_then_completes_with_timer_k() {
    let mut h = Harness::new();
    let req = request(Method::Register, "UDP");
    let tx = h.send(req.clone(), peer(Transport::Udp, 5060));
    h.run_until(MS(600));
    h.deliver(Message::Response(response_to(&req, StatusCode::TRYING)), peer(Transport::Udp, 5060));
    h.run_until(MS(10_000));
    // After the 1xx at 600 ms, the next retransmission (due at 1.5 s) comes, then every T2.
    assert_eq!(h.send_times_ms(), [0, 500, 1500, 5500, 9500]);
    h.deliver(Message::Response(response_to(&req, StatusCode::OK)), peer(Transport::Udp, 5060));
    // A retransmitted final response is absorbed (Completed).
    h.deliver(Message::Response(response_to(&req, StatusCode::OK)), peer(Transport::Udp, 5060));
    h.run_to_end();
    let responses = h.events.iter().filter(|(_, e)| matches!(e, Event::Response { .. })).count();
    assert_eq!(responses, 2, "the 100 and one 200 reach the TU");
    // Timer K = T4 = 5 s after the final response.
    assert_eq!(h.event_time(|e| *e == Event::Terminated { tx }), Some(MS(15_000)));
    assert!(!h.has_event(|e| matches!(e, Event::Timeout { .. })));
    assert_eq!(h.sent.len(), 5, "no retransmission after the final response");
}

#[test]
fn nict_reliable_timer_k_is_zero() {
    let mut h = Harness::new();
    let req = request(Method::Options, "TCP");
    let tx = h.send(req.clone(), peer(Transport::Tcp, 5060));
    h.run_until(MS(100));
    h.deliver(Message::Response(response_to(&req, StatusCode::OK)), peer(Transport::Tcp, 5060));
    h.run_to_end();
    assert_eq!(h.event_time(|e| *e == Event::Terminated { tx }), Some(MS(100)));
}

#[test]
fn ict_udp_timer_a_doubles_without_cap_and_timer_b_ends_it() {
    let mut h = Harness::new();
    let tx = h.send(request(Method::Invite, "UDP"), peer(Transport::Udp, 5060));
    h.run_to_end();
    assert_eq!(h.send_times_ms(), [0, 500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(h.event_time(|e| *e == Event::Timeout { tx }), Some(MS(32_000)));
    assert!(h.layer.is_empty());
}

#[test]
fn ict_provisional_stops_retransmissions_and_timer_b() {
    let mut h = Harness::new();
    let req = request(Method::Invite, "UDP");
    let tx = h.send(req.clone(), peer(Transport::Udp, 5060));
    h.run_until(MS(700));
    h.deliver(Message::Response(response_to(&req, StatusCode::RINGING)), peer(Transport::Udp, 5060));
    h.run_until(MS(120_000));
    assert_eq!(h.send_times_ms(), [0, 500]);
    assert!(!h.has_event(|e| matches!(e, Event::Timeout { .. })), "Proceeding waits for the TU");
    assert!(h.layer.contains(tx));
}

#[test]
fn ict_non_2xx_is_acked_by_the_transaction_and_timer_d_ends_it() {
    let mut h = Harness::new();
    let req = request(Method::Invite, "UDP");
    let tx = h.send(req.clone(), peer(Transport::Udp, 5060));
    let busy = response_to(&req, StatusCode::BUSY_HERE);
    h.run_until(MS(100));
    h.deliver(Message::Response(busy.clone()), peer(Transport::Udp, 5060));
    let ack = match reparse(&h.sent[1].2) {
        Message::Request(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(ack.method(), &Method::Ack);
    assert_eq!(ack.headers().top_via().unwrap().branch(), req.headers().top_via().unwrap().branch());
    assert_eq!(ack.headers().to().unwrap().tag(), Some("uas-tag"));
    // The retransmitted 486 is ACKed again but not passed up.
    h.run_until(MS(5000));
    h.deliver(Message::Response(busy), peer(Transport::Udp, 5060));
    assert_eq!(h.sent.len(), 3);
    let responses = h.events.iter().filter(|(_, e)| matches!(e, Event::Response { .. })).count();
    assert_eq!(responses, 1);
    h.run_to_end();
    // Timer D: 32 s after the first final response.
    assert_eq!(h.event_time(|e| *e == Event::Terminated { tx }), Some(MS(32_100)));
}

#[test]
fn ict_reliable_timer_d_is_zero() {
    let mut h = Harness::new();
    let req = request(Method::Invite, "TCP");
    let tx = h.send(req.clone(), peer(Transport::Tcp, 5060));
    h.deliver(Message::Response(response_to(&req, StatusCode::DECLINE)), peer(Transport::Tcp, 5060));
    h.run_to_end();
    assert_eq!(h.event_time(|e| *e == Event::Terminated { tx }), Some(MS(0)));
    assert_eq!(h.sent.len(), 2, "INVITE and ACK");
}

#[test]
fn ict_2xx_enters_accepted_and_passes_every_2xx_until_timer_m() {
    let mut h = Harness::new();
    let req = request(Method::Invite, "UDP");
    let tx = h.send(req.clone(), peer(Transport::Udp, 5060));
    let ok = response_to(&req, StatusCode::OK);
    h.run_until(MS(200));
    h.deliver(Message::Response(ok.clone()), peer(Transport::Udp, 5060));
    h.run_until(MS(1000));
    h.deliver(Message::Response(ok.clone()), peer(Transport::Udp, 5060));
    let responses = h.events.iter().filter(|(_, e)| matches!(e, Event::Response { .. })).count();
    assert_eq!(responses, 2, "RFC 6026: 2xx retransmissions go to the TU, which ACKs them");
    assert_eq!(h.sent.len(), 1, "the transaction sends no ACK for a 2xx");
    h.run_to_end();
    assert_eq!(h.event_time(|e| *e == Event::Terminated { tx }), Some(MS(32_200)));
    // After the transaction is gone, a 2xx is a stray for the dialog layer.
    h.deliver(Message::Response(ok), peer(Transport::Udp, 5060));
    assert!(h.has_event(|e| matches!(e, Event::StrayResponse { .. })));
}

#[test]
fn transport_error_ends_a_client_transaction() {
    let mut h = Harness::new();
    let tx = h.send(request(Method::Invite, "TCP"), peer(Transport::Tcp, 5060));
    h.layer.handle_transport_error(h.now, tx);
    h.drain();
    assert!(h.has_event(|e| *e == Event::TransportError { tx }));
    assert!(h.has_event(|e| *e == Event::Terminated { tx }));
    assert!(h.layer.is_empty());
}

#[test]
fn nist_absorbs_then_repeats_its_final_response_until_timer_j() {
    let mut h = Harness::new();
    let req = request(Method::Options, "UDP");
    let from = peer(Transport::Udp, 5070);
    h.deliver(Message::Request(req.clone()), from);
    let tx = h.last_request_tx();
    // Trying: a retransmission is absorbed and not passed up.
    h.deliver(Message::Request(req.clone()), from);
    assert!(h.sent.is_empty());
    assert_eq!(h.events.len(), 1);
    h.run_until(MS(300));
    h.respond(tx, response_to(&req, StatusCode::OK));
    h.run_until(MS(2000));
    h.deliver(Message::Request(req.clone()), from);
    assert_eq!(h.sent.len(), 2, "the final response is sent again for the retransmission");
    assert!(h.layer.respond(h.now, tx, response_to(&req, StatusCode::OK)) == Err(TxError::InvalidState));
    h.run_to_end();
    assert_eq!(h.event_time(|e| *e == Event::Terminated { tx }), Some(MS(32_300)));
}

#[test]
fn nist_reliable_timer_j_is_zero() {
    let mut h = Harness::new();
    let req = request(Method::Options, "TCP");
    h.deliver(Message::Request(req.clone()), peer(Transport::Tcp, 5070));
    let tx = h.last_request_tx();
    h.respond(tx, response_to(&req, StatusCode::OK));
    // Timer J of 0 fires at the driver's next call, with no time passing.
    assert_eq!(h.layer.poll_timeout(), Some(h.now));
    h.run_to_end();
    assert_eq!(h.event_time(|e| *e == Event::Terminated { tx }), Some(MS(0)));
}

#[test]
fn ist_sends_100_trying_when_the_tu_is_silent_for_200_ms() {
    let mut h = Harness::new();
    let req = request(Method::Invite, "UDP");
    h.deliver(Message::Request(req.clone()), peer(Transport::Udp, 5070));
    h.run_until(MS(199));
    assert!(h.sent.is_empty());
    h.run_until(MS(200));
    assert_eq!(h.send_times_ms(), [200]);
    match reparse(&h.sent[0].2) {
        Message::Response(r) => assert_eq!(r.status(), StatusCode::TRYING),
        other => panic!("{other:?}"),
    }
    // A retransmitted INVITE gets the last provisional response again.
    h.deliver(Message::Request(req), peer(Transport::Udp, 5070));
    assert_eq!(h.sent.len(), 2);
}

#[test]
fn ist_sends_no_100_when_the_tu_answers_in_time() {
    let mut h = Harness::new();
    let req = request(Method::Invite, "UDP");
    h.deliver(Message::Request(req.clone()), peer(Transport::Udp, 5070));
    let tx = h.last_request_tx();
    h.run_until(MS(50));
    h.respond(tx, response_to(&req, StatusCode::RINGING));
    h.run_until(MS(1000));
    assert_eq!(h.send_times_ms(), [50]);
}

#[test]
fn ist_non_2xx_timer_g_until_ack_then_timer_i() {
    let mut h = Harness::new();
    let req = request(Method::Invite, "UDP");
    let from = peer(Transport::Udp, 5070);
    h.deliver(Message::Request(req.clone()), from);
    let tx = h.last_request_tx();
    let busy = response_to(&req, StatusCode::BUSY_HERE);
    h.respond(tx, busy.clone());
    h.run_until(MS(8000));
    // Timer G: T1 doubling to T2.
    assert_eq!(h.send_times_ms(), [0, 500, 1500, 3500, 7500]);
    let ack = req.ack_for(&busy).unwrap();
    h.deliver(Message::Request(ack.clone()), from);
    assert!(!h.has_event(|e| matches!(e, Event::Ack { .. })), "the ACK for a non-2xx is absorbed");
    h.deliver(Message::Request(ack), from);
    h.run_to_end();
    assert_eq!(h.sent.len(), 5, "no retransmission after the ACK");
    // Timer I = T4 = 5 s after the ACK at 8 s.
    assert_eq!(h.event_time(|e| *e == Event::Terminated { tx }), Some(MS(13_000)));
    assert!(!h.has_event(|e| matches!(e, Event::Timeout { .. })));
}

#[test]
fn ist_without_ack_times_out_with_timer_h() {
    let mut h = Harness::new();
    let req = request(Method::Invite, "UDP");
    h.deliver(Message::Request(req.clone()), peer(Transport::Udp, 5070));
    let tx = h.last_request_tx();
    h.respond(tx, response_to(&req, StatusCode::BUSY_HERE));
    h.run_to_end();
    assert_eq!(h.send_times_ms(), [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
    assert_eq!(h.event_time(|e| *e == Event::Timeout { tx }), Some(MS(32_000)));
}

#[test]
fn ist_over_tcp_sends_the_final_response_once() {
    let mut h = Harness::new();
    let req = request(Method::Invite, "TCP");
    let from = peer(Transport::Tcp, 5070);
    h.deliver(Message::Request(req.clone()), from);
    let tx = h.last_request_tx();
    let busy = response_to(&req, StatusCode::BUSY_HERE);
    h.respond(tx, busy.clone());
    h.deliver(Message::Request(req.ack_for(&busy).unwrap()), from);
    h.run_to_end();
    assert_eq!(h.send_times_ms(), [0]);
    assert_eq!(h.event_time(|e| *e == Event::Terminated { tx }), Some(MS(0)), "Timer I is 0 over TCP");
}

#[test]
fn ist_2xx_enters_accepted_passes_the_ack_and_timer_l_ends_it() {
    let mut h = Harness::new();
    let req = request(Method::Invite, "UDP");
    let from = peer(Transport::Udp, 5070);
    h.deliver(Message::Request(req.clone()), from);
    let tx = h.last_request_tx();
    let ok = response_to(&req, StatusCode::OK);
    h.respond(tx, ok.clone());
    // The TU retransmits its 2xx through the transaction (RFC 6026 §7.1).
    h.run_until(MS(500));
    h.respond(tx, ok.clone());
    assert_eq!(h.sent.len(), 2);
    assert_eq!(h.layer.respond(h.now, tx, response_to(&req, StatusCode::BUSY_HERE)), Err(TxError::InvalidState));
    // A retransmitted INVITE is absorbed in Accepted.
    h.deliver(Message::Request(req.clone()), from);
    assert_eq!(h.sent.len(), 2);
    // The ACK for the 2xx (a new branch) goes to the TU.
    let mut ack = req.ack_for(&response_to(&req, StatusCode::BUSY_HERE)).unwrap();
    ack.headers_mut().set("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKack2xx");
    h.deliver(Message::Request(ack), from);
    assert!(h.has_event(|e| matches!(e, Event::Ack { .. })));
    h.run_to_end();
    assert_eq!(h.event_time(|e| *e == Event::Terminated { tx }), Some(MS(32_000)));
}

#[test]
fn cancel_is_matched_to_its_invite() {
    let mut h = Harness::new();
    let req = request(Method::Invite, "UDP");
    let from = peer(Transport::Udp, 5070);
    h.deliver(Message::Request(req.clone()), from);
    let invite_tx = h.last_request_tx();
    h.deliver(Message::Request(req.cancel().unwrap()), from);
    let cancels = h.events.iter().rev().find_map(|(_, e)| match e {
        Event::Request { request, cancels, .. } if *request.method() == Method::Cancel => Some(*cancels),
        _ => None,
    });
    assert_eq!(cancels, Some(Some(invite_tx)));
    // A CANCEL for an unknown INVITE names none (the UAS answers 481).
    let other = request(Method::Invite, "UDP");
    h.deliver(Message::Request(other.cancel().unwrap()), from);
    assert!(matches!(h.events.last(), Some((_, Event::Request { cancels: None, .. }))));
}

#[test]
fn client_cancel_is_its_own_transaction_with_the_same_branch() {
    let mut h = Harness::new();
    let req = request(Method::Invite, "UDP");
    let to = peer(Transport::Udp, 5060);
    let invite = h.send(req.clone(), to);
    let cancel = h.send(req.cancel().unwrap(), to);
    assert_ne!(invite, cancel);
    let ok_cancel = req.cancel().unwrap().make_response(StatusCode::OK, Some("t")).unwrap();
    h.deliver(Message::Response(ok_cancel), to);
    assert!(h.has_event(|e| matches!(e, Event::Response { tx, .. } if *tx == cancel)));
    assert!(!h.has_event(|e| matches!(e, Event::Response { tx, .. } if *tx == invite)));
}

#[test]
fn large_udp_requests_move_to_tcp() {
    let mut h = Harness::new();
    let mut req = request(Method::Message, "UDP");
    req.set_body(Some("text/plain"), bytes::Bytes::from(vec![b'x'; 1500]));
    h.send(req, peer(Transport::Udp, 5060));
    let (_, to, bytes) = &h.sent[0];
    assert_eq!(to.transport, Transport::Tcp);
    let Message::Request(sent) = reparse(bytes) else { panic!() };
    assert_eq!(sent.headers().top_via().unwrap().transport(), "TCP");
    h.run_to_end();
    assert_eq!(h.sent.len(), 1, "no UDP retransmissions for a request sent over TCP");

    let mut h = Harness::with(Config { udp_size_threshold: None, ..Config::default() });
    let mut req = request(Method::Message, "UDP");
    req.set_body(Some("text/plain"), bytes::Bytes::from(vec![b'x'; 1500]));
    h.send(req, peer(Transport::Udp, 5060));
    assert_eq!(h.sent[0].1.transport, Transport::Udp);
}

#[test]
fn requests_get_received_and_rport_stamped_and_responses_follow_them() {
    let mut h = Harness::new();
    let mut req = request(Method::Options, "UDP");
    req.headers_mut()
        .set("Via", "SIP/2.0/UDP 10.0.0.9:5080;branch=z9hG4bKnat;rport, SIP/2.0/UDP p.example.com;branch=z9hG4bKp");
    let from = peer(Transport::Udp, 40_000);
    h.deliver(Message::Request(req), from);
    let (tx, stamped) = match &h.events[0].1 {
        Event::Request { tx, request, .. } => (*tx, request.clone()),
        other => panic!("{other:?}"),
    };
    let vias: Vec<_> = stamped.headers().via().map(|v| v.unwrap().as_str().to_owned()).collect();
    assert_eq!(vias[0], "SIP/2.0/UDP 10.0.0.9:5080;branch=z9hG4bKnat;rport=40000;received=127.0.0.1");
    assert_eq!(vias[1], "SIP/2.0/UDP p.example.com;branch=z9hG4bKp");
    h.respond(tx, stamped.make_response(StatusCode::OK, Some("x")).unwrap());
    assert_eq!(h.sent[0].1.addr, from.addr, "rport: back to the source port");

    // Without rport: to the source IP and the sent-by port (§18.2.2).
    let mut h = Harness::new();
    let mut req = request(Method::Options, "UDP");
    req.headers_mut().set("Via", "SIP/2.0/UDP 10.0.0.9:5080;branch=z9hG4bKplain");
    h.deliver(Message::Request(req), from);
    let tx = h.last_request_tx();
    let Event::Request { request, .. } = &h.events[0].1 else { panic!() };
    let resp = request.make_response(StatusCode::OK, Some("x")).unwrap();
    h.respond(tx, resp);
    assert_eq!(h.sent[0].1.addr, "127.0.0.1:5080".parse().unwrap());
}

#[test]
fn send_request_refuses_what_it_cannot_track() {
    let mut h = Harness::new();
    let to = peer(Transport::Udp, 5060);
    let mut no_branch = request(Method::Options, "UDP");
    no_branch.headers_mut().set("Via", "SIP/2.0/UDP h;branch=1234");
    assert_eq!(h.layer.send_request(h.now, no_branch, to), Err(TxError::MissingBranch));
    let req = request(Method::Options, "UDP");
    h.layer.send_request(h.now, req.clone(), to).unwrap();
    assert_eq!(h.layer.send_request(h.now, req.clone(), to), Err(TxError::Duplicate));
    let ack = request(Method::Ack, "UDP");
    assert_eq!(h.layer.send_request(h.now, ack, to), Err(TxError::AckIsNotATransaction));
}

#[test]
fn a_cancelled_invite_without_a_final_response_ends_64_t1_after_the_cancel() {
    // RFC 3261 §9.1: otherwise an INVITE in Proceeding would wait for ever.
    let mut h = Harness::new();
    let req = request(Method::Invite, "UDP");
    let to = peer(Transport::Udp, 5060);
    let invite = h.send(req.clone(), to);
    h.run_until(MS(100));
    h.deliver(Message::Response(response_to(&req, StatusCode::RINGING)), to);
    h.run_until(MS(5000));
    h.send(req.cancel().unwrap(), to);
    h.run_to_end();
    assert_eq!(h.event_time(|e| *e == Event::Timeout { tx: invite }), Some(MS(37_000)));
    assert!(h.layer.is_empty());
}

#[test]
fn the_tables_give_back_the_room_of_a_peak_once_it_has_passed() {
    let mut h = Harness::new();
    let from = peer(Transport::Udp, 5070);
    for _ in 0..20_000 {
        let req = request(Method::Options, "UDP");
        h.deliver(Message::Request(req.clone()), from);
        let tx = h.last_request_tx();
        h.respond(tx, response_to(&req, StatusCode::OK));
    }
    assert_eq!(h.layer.len(), 20_000, "each request is a transaction until timer J");
    assert!(h.layer.capacity() >= 20_000);
    h.run_to_end();
    assert!(h.layer.is_empty());
    assert!(h.layer.capacity() <= 2048, "the room of the peak went back: {}", h.layer.capacity());
}
