//! A peer process: spawned in a process group of its own, stopped by its PID.
//!
//! The peer is the leader of a new process group whose id is its PID, so whatever it forks
//! (kamailio's workers) can be signalled along with it, and nothing else is. The leader is
//! reaped only after its group has been killed: while it is an unreaped zombie its PID (the
//! group id) cannot be reused, so the group signal cannot reach a stranger.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{kill_process, kill_process_group, Pid, Signal};

use crate::PeerError;

const POLL: Duration = Duration::from_millis(20);

pub(crate) struct PeerProcess {
    child: Child,
    status: Option<ExitStatus>,
}

impl PeerProcess {
    pub(crate) fn spawn(mut command: Command, what: &str) -> Result<Self, PeerError> {
        command.process_group(0);
        let child = command.spawn().map_err(|e| PeerError::io(format!("spawning {what}"), e))?;
        Ok(PeerProcess { child, status: None })
    }

    /// The pipes of a child spawned with `Stdio::piped()` (each `None` otherwise, or once
    /// taken).
    pub(crate) fn take_pipes(&mut self) -> (Option<std::process::ChildStdin>, Option<std::process::ChildStdout>) {
        (self.child.stdin.take(), self.child.stdout.take())
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn rustix_pid(&self) -> Option<Pid> {
        // Never 0 or 1: spawn returned a real child.
        Pid::from_raw(self.child.id() as i32).filter(|p| p.as_raw_nonzero().get() > 1)
    }

    /// Whether the process has exited (it may not be reaped yet). Does not reap.
    pub(crate) fn has_exited(&self) -> bool {
        if self.status.is_some() {
            return true;
        }
        match std::fs::read_to_string(format!("/proc/{}/stat", self.pid())) {
            // The state follows the parenthesised command name.
            Ok(stat) => {
                stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])).unwrap_or(false)
            }
            Err(_) => true,
        }
    }

    /// Kills what is left of the group, then reaps the leader.
    fn reap(&mut self) -> Result<ExitStatus, PeerError> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        if let Some(pid) = self.rustix_pid() {
            // Workers the leader left behind; ESRCH when there are none.
            let _ = kill_process_group(pid, Signal::KILL);
            // Until they are gone (their ports free). Orphans become zombies that init
            // reaps; a zombie holds nothing, so it is not waited for.
            let deadline = Instant::now() + Duration::from_secs(5);
            while !live_group_members(self.pid()).is_empty() && Instant::now() < deadline {
                thread::sleep(POLL);
            }
        }
        let status = self.child.wait().map_err(|e| PeerError::io("waiting for a peer process", e))?;
        self.status = Some(status);
        Ok(status)
    }

    /// The exit status if the process has exited, without waiting.
    pub(crate) fn try_status(&mut self) -> Result<Option<ExitStatus>, PeerError> {
        if self.has_exited() {
            self.reap().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub(crate) fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>, PeerError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            thread::sleep(POLL);
        }
    }

    /// Sends SIGTERM, gives the process `grace` to exit (kamailio stops its workers, sipp
    /// writes its statistics), then SIGKILLs its whole group and reaps it.
    pub(crate) fn stop(&mut self, grace: Duration) -> Result<ExitStatus, PeerError> {
        if !self.has_exited() {
            if let Some(pid) = self.rustix_pid() {
                let _ = kill_process(pid, Signal::TERM);
            }
            let deadline = Instant::now() + grace;
            while !self.has_exited() && Instant::now() < deadline {
                thread::sleep(POLL);
            }
        }
        self.reap()
    }
}

impl Drop for PeerProcess {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.stop(Duration::from_secs(5));
        }
    }
}

/// The processes of process group `pgid` that are alive (not zombies), from /proc.
pub(crate) fn live_group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // After the parenthesised name: state ppid pgrp ...
            let Some((_, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            fields.len() > 2 && !matches!(fields[0], "Z" | "X") && fields[2].parse::<u32>() == Ok(pgid)
        })
        .collect()
}

/// An exit status as one number: the exit code, or 128 + the signal number (as a shell).
pub(crate) fn exit_code(status: ExitStatus) -> i32 {
    status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(-1)
}

/// The last `lines` lines of a file, for error messages.
pub(crate) fn tail(path: &std::path::Path, lines: usize) -> String {
    let text = std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Runs a short helper command to completion (bounded by `timeout`), failing with its
/// output when it exits unsuccessfully.
pub(crate) fn run(mut command: Command, timeout: Duration) -> Result<String, PeerError> {
    let line = format!("{command:?}");
    let dir = tempfile::Builder::new()
        .prefix("sip-testpeers-cmd-")
        .tempdir()
        .map_err(|e| PeerError::io("creating a temporary directory", e))?;
    let out_path = dir.path().join("output");
    let out = std::fs::File::create(&out_path).map_err(|e| PeerError::io("creating a command output file", e))?;
    let err = out.try_clone().map_err(|e| PeerError::io("creating a command output file", e))?;
    command.stdin(std::process::Stdio::null()).stdout(out).stderr(err);
    let mut process = PeerProcess::spawn(command, &line)?;
    let status = match process.wait_timeout(timeout)? {
        Some(status) => status,
        None => {
            process.stop(Duration::from_millis(200))?;
            return Err(PeerError::Timeout(format!("`{line}` still running after {timeout:?}")));
        }
    };
    let output = std::fs::read(&out_path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    if status.success() {
        Ok(output)
    } else {
        Err(PeerError::Command { command: line, code: status.code(), output })
    }
}
