//! `sipline parse` as a user runs it: exit codes, JSON shape, error offsets.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sipline"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sipline");
    child.stdin.take().expect("stdin").write_all(stdin).expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

const REGISTER: &[u8] = b"REGISTER sip:registrar.biloxi.com SIP/2.0\r\n\
Via: SIP/2.0/UDP bobspc.biloxi.com:5060;branch=z9hG4bKnashds7\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.com>\r\n\
From: Bob <sip:bob@biloxi.com>;tag=456248\r\n\
Call-ID: 843817637684230@998sdasdh09\r\n\
CSeq: 1826 REGISTER\r\n\
m: <sip:bob@192.0.2.4>;expires=7200\r\n\
X-Custom: kept as is\r\n\
Content-Length: 0\r\n\r\n";

#[test]
fn parses_from_stdin_with_typed_headers() {
    let out = run(&["parse", "-"], REGISTER);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    assert_eq!(v["kind"], "request");
    assert_eq!(v["method"], "REGISTER");
    assert_eq!(v["uri"]["host"], "registrar.biloxi.com");
    assert_eq!(v["essentials"], "ok");
    assert_eq!(v["body_length"], 0);
    let headers = v["headers"].as_array().expect("headers");
    assert_eq!(headers.len(), 9);
    assert_eq!(headers[0]["typed"][0]["params"]["branch"], "z9hG4bKnashds7");
    assert_eq!(headers[5]["typed"]["seq"], 1826);
    assert_eq!(headers[6]["name"], "Contact");
    assert_eq!(headers[6]["compact"], true);
    assert_eq!(headers[6]["typed"][0]["params"]["expires"], "7200");
    assert_eq!(headers[7]["name"], "X-Custom");
    assert_eq!(headers[7]["value"], "kept as is");
    assert!(headers[7].get("typed").is_none());
}

#[test]
fn parses_a_file_and_shows_typed_errors() {
    let dir = std::env::temp_dir().join(format!("sipline-parse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("resp.sip");
    std::fs::write(&path, b"SIP/2.0 200 OK\r\nCSeq: x INVITE\r\nContent-Length: 2\r\n\r\nhi").expect("write");
    let out = run(&["parse", path.to_str().expect("utf8 path"), "--compact"], b"");
    // Shown in full, and rejected: no element could act on a response without Via, From,
    // To or a usable CSeq.
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["kind"], "response");
    assert_eq!(v["status"], 200);
    assert_eq!(v["body_length"], 2);
    let err = v["headers"][0]["typed_error"].as_str().expect("typed error");
    assert!(err.starts_with("CSeq: at byte 0"), "{err}");
    assert_ne!(v["essentials"], "ok");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn rejected_message_exits_1_with_offset() {
    let out = run(&["parse"], b"INVITE sip:a@b SIP/2.0\r\nContent-Length: 50\r\n\r\nshort");
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["offset"], 46);
    assert_eq!(v["content_length"], "is larger than the body received");
    assert_eq!(v["status"], 400);
    assert!(String::from_utf8_lossy(&out.stderr).contains("rejected"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["parse", "--no-such-flag"], b"").status.code(), Some(2));
    assert_eq!(run(&["parse", "/nonexistent/file.sip"], b"").status.code(), Some(2));
    assert_eq!(run(&[], b"").status.code(), Some(2));
}

#[test]
fn digest_headers_are_typed_without_the_response_hash() {
    let msg = b"REGISTER sip:biloxi.com SIP/2.0\r\n\
Via: SIP/2.0/UDP bobspc.biloxi.com:5060;branch=z9hG4bKnashds7\r\n\
Max-Forwards: 70\r\n\
To: <sip:bob@biloxi.com>\r\n\
From: <sip:bob@biloxi.com>;tag=456248\r\n\
Call-ID: 843817637684230@998sdasdh09\r\n\
CSeq: 1827 REGISTER\r\n\
Authorization: Digest username=\"bob\", realm=\"biloxi.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:biloxi.com\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5\r\n\
Content-Length: 0\r\n\r\n";
    let out = run(&["parse"], msg);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let auth = &v["headers"][6]["typed"];
    assert_eq!(auth["response"], "<present, not shown>");
    assert_eq!(auth["username"], "bob");
    assert_eq!(auth["nc"], "00000001");
    assert_eq!(auth["qop"], "auth");
}

/// A request that parses but whose From, To, Call-ID, CSeq or Via cannot be used, or whose
/// CSeq names another method, is one no element can act on (RFC 3261 §8.2: 400): exit 1,
/// with the header named.
#[test]
fn unusable_essential_headers_exit_1_naming_the_header() {
    let good = "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: abc\r\nCSeq: 1 INVITE\r\n\
Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    let out = run(&["parse"], good.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    for (header, bad) in [
        ("From", "From: garbage<<"),
        ("To", "To: <sip:>"),
        ("Call-ID", "Call-ID: a b c"),
        ("CSeq", "CSeq: 1 BYE"),
        ("CSeq", "CSeq: x INVITE"),
        ("Via", "Via: nonsense"),
    ] {
        let name = bad.split(':').next().expect("name");
        let message: String = good
            .split("\r\n")
            .map(|l| if l.starts_with(&format!("{name}:")) { bad } else { l })
            .collect::<Vec<_>>()
            .join("\r\n");
        let out = run(&["parse"], message.as_bytes());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{bad}: {err}");
        assert!(err.contains(&format!("rejected: {header}")), "{bad}: {err}");
        assert!(json(&out)["essentials"].as_str().is_some_and(|e| e != "ok"), "{bad}: the JSON says why");
    }
}
