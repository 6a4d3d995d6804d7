//! `sipline register` following a change of the host's address, for real: the program and
//! a registrar (sipp) run in a network namespace this test makes, whose only way out is a
//! veth pair inside it, addressed 10.77.0.2. With `network.follow_address_changes` the
//! program asks the routing table every second which address reaches the network; the test
//! moves the interface to 10.78.0.3, and the registrar must see a REGISTER binding the new
//! Contact and removing the old one (RFC 3261 §10.2.2). Needs root and iproute2 (`ip netns`),
//! which the test command's machine has; it fails loudly without them.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(20);

/// Runs `ip ARGS`, failing the test when it fails.
fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("iproute2's ip (apt install iproute2)");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// A network namespace of the test's own, removed with everything in it when dropped.
struct Namespace {
    name: String,
    children: Vec<Child>,
}

impl Namespace {
    fn new() -> Namespace {
        let name = format!("sipline-addr-{}", std::process::id());
        ip(&["netns", "add", &name]);
        let ns = Namespace { name, children: Vec::new() };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        // Both ends of the pair stay inside: nothing of the host's network is touched.
        ip(&["-n", &ns.name, "link", "add", "va", "type", "veth", "peer", "name", "vb"]);
        ip(&["-n", &ns.name, "link", "set", "va", "up"]);
        ip(&["-n", &ns.name, "link", "set", "vb", "up"]);
        ip(&["-n", &ns.name, "addr", "add", "10.77.0.2/24", "dev", "va"]);
        ip(&["-n", &ns.name, "route", "add", "default", "dev", "va"]);
        ns
    }

    /// Starts `program ARGS` inside the namespace, its stderr piped, and its stdout when
    /// `read` (sipp's screen is not: nobody would drain the pipe).
    fn spawn(&mut self, program: &str, args: &[&str], read: bool) -> usize {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name, program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(if read { Stdio::piped() } else { Stdio::null() })
            .stderr(Stdio::piped())
            .spawn()
            .expect("ip netns exec");
        self.children.push(child);
        self.children.len() - 1
    }
}

impl Namespace {
    /// Waits until some socket in the namespace is bound to UDP `port` (read from its
    /// /proc/net/udp; a REGISTER sent before would meet an ICMP error and fail at once).
    fn wait_for_udp_port(&self, port: u16) {
        let wanted = format!(":{port:04X} ");
        let until = std::time::Instant::now() + PATIENCE;
        loop {
            let out = Command::new("ip").args(["netns", "exec", &self.name, "cat", "/proc/net/udp"]).output();
            if out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(&wanted)) {
                return;
            }
            assert!(std::time::Instant::now() < until, "nothing bound UDP port {port} in the namespace");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// Forwards `child`'s stdout lines to a channel (and keeps them for the failure message).
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits for a line containing `what`; the lines seen go to `seen`.
fn wait_for(rx: &mpsc::Receiver<String>, what: &str, seen: &mut Vec<String>) {
    let until = std::time::Instant::now() + PATIENCE;
    while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let hit = line.contains(what);
                seen.push(line);
                if hit {
                    return;
                }
            }
            Err(_) => break,
        }
    }
    panic!("no line with '{what}' in:\n{}", seen.join("\n"));
}

#[test]
fn register_follows_the_hosts_new_address() {
    let mut ns = Namespace::new();
    let dir = std::env::temp_dir().join(format!("sipline-address-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("client.toml");
    std::fs::write(
        &config,
        "[network]\nlocal_address = \"0.0.0.0:0\"\nfollow_address_changes = true\naddress_check_secs = 1\n",
    )
    .expect("config");
    let scenario = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/register_moves_uas.xml");
    let registrar = ns.spawn(
        "sipp",
        &["-sf", scenario.to_str().expect("utf-8"), "-i", "127.0.0.1", "-p", "5060", "-m", "1", "-nostdin"],
        false,
    );
    ns.wait_for_udp_port(5060);
    let program = ns.spawn(
        env!("CARGO_BIN_EXE_sipline"),
        &[
            "register",
            "--user",
            "alice",
            "--registrar",
            "sip:127.0.0.1:5060",
            "--config",
            config.to_str().expect("utf-8"),
        ],
        true,
    );
    let rx = lines_of(&mut ns.children[program]);
    let mut seen = Vec::new();
    wait_for(&rx, "registered", &mut seen);

    // The host moves: the new address comes up, the old one goes.
    ip(&["-n", &ns.name, "addr", "add", "10.78.0.3/24", "dev", "va"]);
    ip(&["-n", &ns.name, "addr", "del", "10.77.0.2/24", "dev", "va"]);
    wait_for(&rx, "address changed:", &mut seen);
    assert!(seen.last().is_some_and(|l| l.contains("10.77.0.2") && l.contains("10.78.0.3")), "{seen:?}");
    wait_for(&rx, "registered", &mut seen);

    // Ctrl-C: the binding goes, and the registrar's scenario is complete.
    let pid = ns.children[program].id();
    let _ = Command::new("kill").args(["-INT", &pid.to_string()]).status();
    let exit = ns.children[program].wait().expect("sipline ends");
    while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
        seen.push(line);
    }
    assert!(exit.success(), "sipline: {exit}\n{}", seen.join("\n"));
    let sipp = &mut ns.children[registrar];
    let until = std::time::Instant::now() + PATIENCE;
    let status = loop {
        if let Some(s) = sipp.try_wait().expect("sipp") {
            break s;
        }
        assert!(std::time::Instant::now() < until, "sipp did not end:\n{}", seen.join("\n"));
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut errors = String::new();
    if let Some(mut e) = sipp.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut errors);
    }
    assert!(
        status.success(),
        "the registrar saw the new binding replace the old one: {status}\n{errors}\n{}",
        seen.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
