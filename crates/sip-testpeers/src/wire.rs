//! A lossy, reordering, duplicating network path between two network namespaces of the
//! test's own: the stand-in for netem, which the kernel of the test machines lacks.
//!
//! [`LossyWire::start`] makes two namespaces, starts `peers/lossy_wire.py` (a user-space
//! relay between two TUN devices), moves one device into each namespace and addresses them
//! point to point: `10.201.0.1` in namespace A, `10.201.0.2` in namespace B. Programs started
//! in the namespaces ([`LossyWire::command_in`]) reach each other only across the relay, SIP
//! and RTP alike, with their addresses untouched. Nothing of the host's network is touched;
//! dropping the wire stops the relay and deletes both namespaces. Needs root, iproute2 and
//! python3, which the test command installs.

use crate::error::PeerError;
use crate::process::PeerProcess;
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The relay, written into the wire's temporary directory at start.
pub const RELAY_SCRIPT: &str = include_str!("../peers/lossy_wire.py");

/// One end of the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Namespace A, address 10.201.0.1.
    A,
    /// Namespace B, address 10.201.0.2.
    B,
}

impl End {
    /// The end's address.
    pub fn addr(self) -> Ipv4Addr {
        match self {
            End::A => Ipv4Addr::new(10, 201, 0, 1),
            End::B => Ipv4Addr::new(10, 201, 0, 2),
        }
    }
}

/// How the wire treats each packet, in each direction on its own.
#[derive(Debug, Clone, Copy)]
pub struct WireOptions {
    /// The share of packets lost (0.1: 10 %).
    pub loss: f64,
    /// The share of packets delivered twice.
    pub duplicate: f64,
    /// The share of packets held back and delivered after the next one (or 20 ms later).
    pub reorder: f64,
    /// The seed of the relay's random choices.
    pub seed: u64,
}

/// What one direction of the wire did, from the relay's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DirectionStats {
    /// Packets that entered the wire.
    pub read: u64,
    /// Packets delivered (duplicates included).
    pub written: u64,
    /// Packets lost on purpose.
    pub lost: u64,
    /// Packets delivered twice.
    pub duplicated: u64,
    /// Packets delivered after their successor.
    pub reordered: u64,
}

impl DirectionStats {
    /// The share of packets lost.
    pub fn loss(&self) -> f64 {
        if self.read == 0 {
            0.0
        } else {
            self.lost as f64 / self.read as f64
        }
    }
}

/// The wire; see the module docs.
pub struct LossyWire {
    relay: PeerProcess,
    namespaces: [String; 2],
    stats_file: PathBuf,
    _dir: tempfile::TempDir,
}

/// Tells the wires of one test process apart.
static NEXT: AtomicU32 = AtomicU32::new(0);

fn ip(args: &[&str]) -> Result<(), PeerError> {
    let out = Command::new("ip").args(args).output().map_err(|e| PeerError::io("running iproute2's ip", e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(PeerError::Config(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim())))
    }
}

impl LossyWire {
    /// Makes the namespaces, starts the relay and waits until packets can cross.
    ///
    /// # Errors
    ///
    /// [`PeerError::Missing`] without `ip` or `python3`, [`PeerError::Config`] when a
    /// namespace or device cannot be made (not root), [`PeerError::Startup`] when the relay
    /// does not come up.
    pub fn start(options: WireOptions) -> Result<LossyWire, PeerError> {
        crate::which("ip")?;
        let python = crate::which("python3")?;
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}x{n}", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix("sip-testpeers-wire-")
            .tempdir()
            .map_err(|e| PeerError::io("creating the wire's temporary directory", e))?;
        let script = dir.path().join("lossy_wire.py");
        std::fs::write(&script, RELAY_SCRIPT).map_err(|e| PeerError::io("writing lossy_wire.py", e))?;
        let stats_file = dir.path().join("stats.json");
        // Device names are at most 15 bytes.
        let tail = &id[id.len().saturating_sub(10)..];
        let devices = [format!("wa{tail}"), format!("wb{tail}")];
        let mut command = Command::new(python);
        command
            .arg(&script)
            .args(&devices)
            .arg(&stats_file)
            .args([options.loss, options.duplicate, options.reorder].map(|x| x.to_string()))
            .arg(options.seed.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut relay = PeerProcess::spawn(command, "lossy_wire.py")?;
        let (_, stdout) = relay.take_pipes();
        let ready = stdout.and_then(|out| BufReader::new(out).lines().next()).and_then(Result::ok);
        if ready.as_deref() != Some("ready") {
            return Err(PeerError::Startup {
                peer: "lossy_wire.py",
                reason: "the relay could not open its TUN devices (root and /dev/net/tun are needed)".into(),
                log: script,
                log_tail: String::new(),
            });
        }
        let namespaces = [format!("sipline-wire-{id}-a"), format!("sipline-wire-{id}-b")];
        let wire = LossyWire { relay, namespaces, stats_file, _dir: dir };
        for (i, (end, peer)) in [(End::A, End::B), (End::B, End::A)].into_iter().enumerate() {
            let (ns, dev) = (&wire.namespaces[i], &devices[i]);
            ip(&["netns", "add", ns])?;
            ip(&["link", "set", dev, "netns", ns])?;
            ip(&["-n", ns, "addr", "add", &end.addr().to_string(), "peer", &peer.addr().to_string(), "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(wire)
    }

    /// The namespace of `end`.
    pub fn namespace(&self, end: End) -> &str {
        match end {
            End::A => &self.namespaces[0],
            End::B => &self.namespaces[1],
        }
    }

    /// A command that runs `program` inside the namespace of `end` (`ip netns exec`).
    pub fn command_in(&self, end: End, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.namespace(end)]).arg(program);
        c
    }

    /// What each direction did so far: (A to B, B to A). The relay writes its counts every
    /// half second, so they may lag by that much.
    pub fn stats(&self) -> Result<(DirectionStats, DirectionStats), PeerError> {
        let text = std::fs::read_to_string(&self.stats_file)
            .map_err(|e| PeerError::io(format!("reading {}", self.stats_file.display()), e))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| PeerError::Config(format!("the wire's counts: {e}")))?;
        let of = |way: &str| {
            let v = &json[way];
            let n = |k: &str| v[k].as_u64().unwrap_or(0);
            DirectionStats {
                read: n("read"),
                written: n("written"),
                lost: n("lost"),
                duplicated: n("duplicated"),
                reordered: n("reordered"),
            }
        };
        Ok((of("a_to_b"), of("b_to_a")))
    }

    /// Stops the relay (its last counts written) and returns them.
    pub fn stop(mut self) -> Result<(DirectionStats, DirectionStats), PeerError> {
        self.relay.stop(Duration::from_secs(5))?;
        self.stats()
    }
}

impl Drop for LossyWire {
    fn drop(&mut self) {
        let _ = self.relay.stop(Duration::from_secs(5));
        // Deleting a namespace ends its devices; programs still in it keep it alive until
        // they exit, which their own guards see to.
        for ns in &self.namespaces {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}
