//! `sipline agent`, driven as people and scripts drive it: the line mode through a pipe, and
//! the full-screen view inside tmux, read back with capture-pane, with a real call from
//! `sipline call` in progress.

use sip_testpeers::require_peers;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(20);

fn sipline() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sipline"))
}

/// A free UDP port on loopback (for the agent's SIP listener).
fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).expect("a free port").port()
}

#[test]
fn the_line_mode_answers_shows_status_and_quits() {
    let mut agent = sipline()
        .args(["agent", "--listen", "127.0.0.1:0", "--auto-answer"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("agent");
    let mut stdin = agent.stdin.take().expect("stdin");
    let (tx, lines) = mpsc::channel();
    let out = agent.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let mut seen = Vec::new();
    let wait_for = |needle: &str, seen: &mut Vec<String>| -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(l) => {
                    seen.push(l.clone());
                    if l.contains(needle) {
                        return l;
                    }
                }
                Err(_) => panic!("the agent never printed '{needle}':\n{}", seen.join("\n")),
            }
        }
    };
    let ready = wait_for("agent ready on ", &mut seen);
    let addr = ready["agent ready on ".len()..]
        .split(';')
        .next()
        .expect("addr")
        .split_whitespace()
        .next()
        .expect("addr")
        .to_owned();
    let caller = std::thread::spawn(move || {
        sipline()
            .args(["call", &format!("sip:agent@{addr}"), "--duration", "3", "--dtmf", "7"])
            .output()
            .expect("caller")
    });
    wait_for("incoming call from sip:sipline@127.0.0.1", &mut seen);
    wait_for("answered", &mut seen);
    // The caller's digit arrives as an event; the agent's goes back with `dtmf`.
    wait_for("call-1 DTMF 7 (100 ms)", &mut seen);
    writeln!(stdin, "dtmf 1 #0").expect("write");
    wait_for("call-1 sending DTMF #0", &mut seen);
    writeln!(stdin, "status").expect("write");
    let row = wait_for("call: call-1 in ", &mut seen);
    assert!(row.contains("active") && row.contains("PCMU/8000"), "{row}");
    writeln!(stdin, "hold 7").expect("write");
    wait_for("error: ", &mut seen);
    writeln!(stdin, "frobnicate").expect("write");
    wait_for("unknown command 'frobnicate'", &mut seen);
    wait_for("ended: remote hung up", &mut seen);
    let out = caller.join().expect("caller thread");
    let caller_said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{caller_said}");
    assert!(caller_said.contains("DTMF # (") && caller_said.contains("DTMF 0 ("), "{caller_said}");
    writeln!(stdin, "quit").expect("write");
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(s) = agent.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "quit did not end the agent");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

/// A tmux server of the test's own (its own socket), killed at the end.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().expect("tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "agent"]).stdout).into_owned()
    }

    /// The screen once it contains every one of `needles`.
    fn wait_for(&self, needles: &[&str]) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if needles.iter().all(|n| screen.contains(n)) {
                return screen;
            }
            assert!(Instant::now() < deadline, "the screen never showed {needles:?}:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

#[test]
fn the_terminal_view_shows_a_call_in_progress_and_acts_on_keys() {
    require_peers(); // tmux is installed with the peers
    let port = free_port();
    let tmux = Tmux { socket: format!("sipline-agent-test-{}", std::process::id()) };
    let command = format!("{} agent --listen 127.0.0.1:{port} --auto-answer", env!("CARGO_BIN_EXE_sipline"));
    let started = tmux.run(&["new-session", "-d", "-s", "agent", "-x", "150", "-y", "36", &command]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    tmux.wait_for(&["Agent", &format!("listening on 127.0.0.1:{port}"), "Calls (0)", "[a]nswer"]);

    let caller = std::thread::spawn(move || {
        sipline().args(["call", &format!("sip:agent@127.0.0.1:{port}"), "--duration", "30"]).output().expect("caller")
    });
    // The call in the table: its number, direction, peer, state, timer and codec.
    let screen = tmux.wait_for(&["Calls (1)", "call-1", "sip:sipline@127.0.0.1", "active", "PCMU/8000", "00:0"]);
    assert!(screen.contains("incoming call from sip:sipline@127.0.0.1"), "the event log:\n{screen}");
    // Quality arrives once a sample has been taken (every second in the agent).
    tmux.wait_for(&["% / "]);
    // m mutes, o holds, h hangs up.
    tmux.run(&["send-keys", "-t", "agent", "m"]);
    tmux.wait_for(&["muted"]);
    tmux.run(&["send-keys", "-t", "agent", "o"]);
    tmux.wait_for(&["on hold"]);
    tmux.run(&["send-keys", "-t", "agent", "h"]);
    tmux.wait_for(&["ended: hung up", "Calls (0)"]);
    let out = caller.join().expect("caller");
    assert_eq!(out.status.code(), Some(0), "the caller saw a normal end: {}", String::from_utf8_lossy(&out.stdout));
    tmux.run(&["send-keys", "-t", "agent", "q"]);
    let deadline = Instant::now() + PATIENCE;
    while tmux.run(&["has-session", "-t", "agent"]).status.success() {
        assert!(Instant::now() < deadline, "q did not end the agent:\n{}", tmux.screen());
        std::thread::sleep(Duration::from_millis(100));
    }
}
