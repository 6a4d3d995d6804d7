//! sipvicious, the scanner attackers run against SIP endpoints, against `sipline` as users
//! deploy it. The scanners run from 127.0.0.2 (PEERS.md: bound to loopback, never with `-R`
//! or `-A`).
//!
//! - An answering bot (`sipline answer`, no account) is a public service: `svmap` finds it,
//!   but `svwar` cannot tell one user from another (every user gets the same answer), and
//!   `svcrack` gets no challenge to guess passwords against. It answers calls afterwards.
//! - A registered agent (`sipline register` with kamailio on 127.0.0.1) answers strangers
//!   nothing at all (`security.only_from_registrar`): `svmap` does not find it, `svwar` and
//!   `svcrack` get nothing, and its registration is untouched.

mod common;

use common::Program;
use sip_testpeers::{require_peers, Kamailio, KamailioOptions, Transport};
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A free UDP port on the scanner's address.
fn scanner_port() -> String {
    UdpSocket::bind("127.0.0.2:0").and_then(|s| s.local_addr()).expect("a port on 127.0.0.2").port().to_string()
}

/// Runs sipvicious's `tool` from 127.0.0.2 against 127.0.0.1:`port`; its whole output.
fn scan(tool: &str, port: u16, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .args(["120", tool, "-b", "127.0.0.2", "-x", "127.0.0.2", "-P", &scanner_port(), "-p", &port.to_string()])
        .args(args)
        .arg("127.0.0.1")
        .stdin(Stdio::null())
        .output()
        .expect("sipvicious (scripts/install-peers)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_ne!(out.status.code(), Some(124), "{tool} did not finish within 120 s:\n{text}");
    text
}

#[test]
fn an_answering_bot_gives_scanners_no_user_to_enumerate_and_no_password_to_guess() {
    require_peers();
    let port = UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).expect("a free port").port();
    let mut bot = Program::start(&["answer", "--listen", &format!("127.0.0.1:{port}"), "--count", "1000000"], |_| {});
    let found = scan("svmap", port, &[]);
    assert!(found.contains(&format!("127.0.0.1:{port}")), "a public answering service is found:\n{found}");
    for method in ["REGISTER", "OPTIONS", "INVITE"] {
        let users = scan("svwar", port, &["-e", "100-199", "-m", method]);
        assert!(users.contains("found nothing"), "svwar -m {method} told users apart:\n{users}");
    }
    let cracked = scan("svcrack", port, &["-u", "100", "-r", "1-200"]);
    assert!(!cracked.contains("| Password"), "svcrack found a password:\n{cracked}");
    assert!(bot.running(), "the bot survived the scans");
    let again = scan("svmap", port, &[]);
    assert!(again.contains(&format!("127.0.0.1:{port}")), "and still answers:\n{again}");
}

#[test]
fn a_registered_agent_is_invisible_to_scanners() {
    require_peers();
    let k = Kamailio::start(KamailioOptions::new().user("agent1", "pw1")).expect("kamailio");
    let registrar = format!("sip:{}", k.addr(Transport::Udp));
    let mut agent =
        Program::start(&["register", "--user", "agent1", "--password", "pw1", "--registrar", &registrar], |_| {});
    let deadline = Instant::now() + Duration::from_secs(20);
    let contact = loop {
        if let Some(c) = k.registered_contacts("agent1").expect("ul.dump").first() {
            break c.clone();
        }
        assert!(Instant::now() < deadline, "the agent registered:\n{}", k.log());
        std::thread::sleep(Duration::from_millis(50));
    };
    // sip:agent1@127.0.0.1:PORT;transport=udp...
    let port: u16 = contact
        .split('@')
        .nth(1)
        .and_then(|hostport| hostport.split([';', '>']).next())
        .and_then(|hostport| hostport.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a port in the Contact {contact}"));

    let found = scan("svmap", port, &[]);
    assert!(found.contains("found nothing") && !found.contains(&format!(":{port}")), "svmap found the agent:\n{found}");
    for method in ["REGISTER", "INVITE"] {
        let users = scan("svwar", port, &["-e", "100-120", "-m", method]);
        assert!(users.contains("found nothing"), "svwar -m {method} learned something:\n{users}");
    }
    let cracked = scan("svcrack", port, &["-u", "agent1", "-r", "1-50"]);
    assert!(!cracked.contains("| Password"), "svcrack found a password:\n{cracked}");
    assert!(agent.running(), "the agent survived the scans");
    assert_eq!(k.registered_contacts("agent1").expect("ul.dump"), [contact], "its registration is untouched");
}
