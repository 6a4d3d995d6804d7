//! A `sipline` process for the tests that run it in the background (floods, scanners, the
//! cluster): started with its stdout read line by line on a thread of its own, so the pipe
//! never fills, and killed when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running `sipline`.
pub struct Program(pub Child);

impl Program {
    /// Starts `sipline ARGS`; every line it prints goes to `on_line`, on a thread.
    pub fn start(args: &[&str], mut on_line: impl FnMut(&str) + Send + 'static) -> Program {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sipline"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sipline");
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                on_line(&line);
            }
        });
        Program(child)
    }

    /// Has it not exited?
    pub fn running(&mut self) -> bool {
        self.0.try_wait().expect("wait").is_none()
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
