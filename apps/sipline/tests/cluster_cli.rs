//! Scale-out as the README documents it: kamailio's dispatcher
//! (`deploy/kamailio/dispatcher.cfg`, the file users run) in front of two `sipline answer`
//! instances on loopback. Calls from sipp spread over both; one instance is killed in the
//! middle of a run, and every call placed after that completes on the survivor (a call sent to
//! the dead one fails over when its INVITE times out; OPTIONS pings take the instance out);
//! the killed instance is started again on its port and the pings bring it back into the
//! rotation. The times kamailio took to notice each change are printed (RELIABILITY.md).

mod common;

use common::Program;
use sip_testpeers::{require_peers, Scenario, Sipp, SippOptions};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(30);
/// A customer's call through a proxy: the ACK and BYE follow the recorded route.
const CALLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../crates/client-core/tests/peers/customer_uac.xml");
const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/kamailio/dispatcher.cfg");

/// A free UDP port on 127.0.0.1.
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).expect("a free port").port()
}

/// One `sipline answer`, counting the calls it is offered.
struct Instance {
    program: Program,
    calls: Arc<AtomicUsize>,
}

impl Instance {
    fn start(port: u16) -> Instance {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let args = ["answer", "--listen", &format!("127.0.0.1:{port}"), "--count", "1000000"];
        let program = Program::start(&args, move |line| {
            if line.contains("incoming call from") {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        Instance { program, calls }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

/// kamailio running the repository's dispatcher configuration, its settings given with -A.
struct Dispatcher {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

impl Dispatcher {
    fn start(instances: &[u16]) -> Dispatcher {
        let dir = std::env::temp_dir().join(format!("sipline-cluster-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory");
        let list = dir.join("dispatcher.list");
        let lines: String = instances.iter().map(|p| format!("1 sip:127.0.0.1:{p}\n")).collect();
        std::fs::write(&list, lines).expect("the list");
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let child = Command::new("kamailio")
            .args(["-f", CONFIG, "-DD", "-E", "-m", "64", "-M", "8", "-Y"])
            .arg(&dir)
            .arg("-A")
            .arg(format!("LISTEN=udp:{addr}"))
            .arg("-A")
            .arg(format!("DS_LIST=\"{}\"", list.display()))
            .args(["-A", "DS_PING=1", "-A", "FR_TIMEOUT=1000"])
            .arg("-A")
            .arg(format!("CTL_SOCKET=\"unix:{}/ctl\"", dir.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("kamailio.log")).expect("the log"))
            .spawn()
            .expect("kamailio (scripts/install-peers)");
        let mut d = Dispatcher { child, dir, addr };
        d.wait_until("kamailio answers its control socket", |d| d.flags(instances[0]).is_some());
        d
    }

    /// The dispatcher's flags of the instance on `port` ("AP" active, "IP" inactive and
    /// probed), from `kamcmd dispatcher.list`.
    fn flags(&self, port: u16) -> Option<String> {
        let socket = format!("unix:{}/ctl", self.dir.display());
        let out = Command::new("kamcmd").args(["-s", &socket, "dispatcher.list"]).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let uri = format!("URI: sip:127.0.0.1:{port}");
        let rest = &text[text.find(&uri)? + uri.len()..];
        let line = rest.lines().find(|l| l.trim_start().starts_with("FLAGS:"))?;
        Some(line.trim_start().trim_start_matches("FLAGS:").trim().to_owned())
    }

    fn active(&self, port: u16) -> bool {
        self.flags(port).is_some_and(|f| f.starts_with('A'))
    }

    /// Waits (up to PATIENCE) until `ready` holds, and says how long that took.
    fn wait_until(&mut self, what: &str, ready: impl Fn(&Dispatcher) -> bool) -> Duration {
        let start = Instant::now();
        while !ready(self) {
            assert!(self.child.try_wait().expect("wait").is_none(), "kamailio exited:\n{}", self.log());
            assert!(start.elapsed() < PATIENCE, "{what}: not within {PATIENCE:?}\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        start.elapsed()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kamailio.log")).unwrap_or_default()
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `calls` calls through the dispatcher at `rate` a second, at most 4 at once, each held
/// 500 ms.
fn customers(dispatcher: &Dispatcher, calls: u64, rate: f64) -> Sipp {
    let options = SippOptions::uac(Scenario::File(CALLS.into()), dispatcher.addr)
        .service("bob")
        .calls(calls)
        .rate(rate)
        .limit(4)
        .pause_ms(500)
        // kamailio's two workers may pass a 180 on after its 200, which RFC 3261 lets a caller
        // ignore; sipp would abort the call instead.
        .arg("-default_behaviors")
        .arg("all,-abortunexp");
    Sipp::start(options).expect("sipp starts")
}

#[test]
fn calls_spread_over_two_instances_survive_one_dying_and_it_is_taken_back() {
    require_peers();
    let (p1, p2) = (free_port(), free_port());
    let mut one = Instance::start(p1);
    let mut two = Instance::start(p2);
    let mut dispatcher = Dispatcher::start(&[p1, p2]);
    dispatcher.wait_until("both instances answer the pings", |d| d.active(p1) && d.active(p2));

    // Spread: round robin over both.
    let mut sipp = customers(&dispatcher, 20, 10.0);
    assert_eq!(sipp.wait(PATIENCE).expect("sipp ends"), 0, "every call completed: {}", dispatcher.log());
    let (first, second) = (one.calls(), two.calls());
    assert_eq!(first + second, 20, "each call reached one instance");
    assert!(first >= 5 && second >= 5, "the calls were spread: {first} and {second}");

    // Instance one dies in the middle of a run.
    let mut sipp = customers(&dispatcher, 60, 10.0);
    std::thread::sleep(Duration::from_secs(2));
    let _ = one.program.0.kill();
    let _ = one.program.0.wait();
    let before = two.calls();
    let noticed = dispatcher.wait_until("the dead instance is taken out", |d| !d.active(p1));
    let _ = sipp.wait(PATIENCE * 2).expect("sipp ends");
    let stats = sipp.stats().expect("stats");
    // Only calls already up on the dead instance (at most the 4 sipp keeps at once) are lost;
    // every other call completes, the ones sent to the dead instance after failing over.
    assert!(
        stats.successful_calls >= 56,
        "{} of 60 calls completed, {} failed\n{}",
        stats.successful_calls,
        stats.failed_calls,
        dispatcher.log()
    );
    assert!(two.calls() > before, "the survivor took the calls after the kill");
    assert!(two.program.running(), "the survivor is still up");
    let (completed, lost) = (stats.successful_calls, stats.failed_calls);

    // Back on its port: the pings bring it back, and it takes calls again.
    let taken_out = one.calls();
    assert!(taken_out > 0, "instance one had taken calls before it died");
    let one = Instance::start(p1);
    let back = dispatcher.wait_until("the restarted instance is taken back", |d| d.active(p1));
    let mut sipp = customers(&dispatcher, 20, 10.0);
    assert_eq!(sipp.wait(PATIENCE).expect("sipp ends"), 0, "every call completed: {}", dispatcher.log());
    assert!(one.calls() >= 5, "the restarted instance takes calls again: {}", one.calls());
    eprintln!(
        "{completed} of 60 calls completed across the kill ({lost} lost); the dispatcher took the dead instance \
         out after {noticed:?} and the restarted one back after {back:?}"
    );
}
