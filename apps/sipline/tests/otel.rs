//! `--otlp URL` (built with `--features otel`): the spans of client-core's operations and its
//! metrics reach an OTLP/HTTP collector. The collector here is a minimal HTTP server of the
//! test's own that records each request's path and protobuf body.
#![cfg(feature = "otel")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};

type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Accepts OTLP/HTTP exports on loopback and answers each with an empty 200.
fn collector() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("collector");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen: Seen = Arc::default();
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let record = record.clone();
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().expect("clone");
                let mut reader = BufReader::new(stream);
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_owned();
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0u8; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    record.lock().expect("lock").push((path, body));
                    let reply = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n";
                    if writer.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, seen)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn spans_and_metrics_of_a_call_reach_the_collector() {
    let (url, seen) = collector();
    let mut bob = Command::new(env!("CARGO_BIN_EXE_sipline"))
        .args(["answer", "--listen", "127.0.0.1:0", "--count", "1", "--hangup-after", "0.5"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("answerer");
    let mut lines = BufReader::new(bob.stdout.take().expect("stdout")).lines();
    let addr = loop {
        let line = lines.next().expect("a line").expect("text");
        if let Some(rest) = line.strip_prefix("listening on ") {
            break rest.split_whitespace().next().expect("addr").to_owned();
        }
    };
    let out = Command::new(env!("CARGO_BIN_EXE_sipline"))
        .args(["--otlp", &url, "call", &format!("sip:bob@{addr}"), "--duration", "5"])
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .output()
        .expect("caller");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(bob.wait().expect("answerer").success());

    let seen = seen.lock().expect("lock");
    let body =
        |path: &str| -> Vec<u8> { seen.iter().filter(|(p, _)| p == path).flat_map(|(_, b)| b.clone()).collect() };
    let traces = body("/v1/traces");
    let metrics = body("/v1/metrics");
    let paths: Vec<&String> = seen.iter().map(|(p, _)| p).collect();
    assert!(!traces.is_empty() && !metrics.is_empty(), "both signals exported: {paths:?}");
    for span in ["make_call_with", "start", "stop", "call-1"] {
        assert!(contains(&traces, span), "the span (or call id) {span} was exported");
    }
    assert!(contains(&traces, "sipline"), "the service is named");
    assert!(contains(&metrics, "sipline_calls_total"), "the call was counted");
    assert!(contains(&metrics, "outgoing"), "with its direction");
}
