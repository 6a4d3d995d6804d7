//! The one error type of the crate.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a peer could not be started, asked or waited for.
#[derive(Debug)]
#[non_exhaustive]
pub enum PeerError {
    /// The named binary is not on `PATH`: install the peers (`scripts/install-peers`).
    Missing(String),
    /// The options cannot be turned into a working peer (a user name with a `:`, a UAC
    /// scenario without a target, a drop-first scenario over TCP, ...).
    Config(String),
    /// A file or process operation failed.
    Io {
        /// What was being done.
        what: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// A helper command (`openssl`, `kamailio -c`, `kamcmd`) exited unsuccessfully.
    Command {
        /// The command line.
        command: String,
        /// Its exit code, `None` when a signal ended it.
        code: Option<i32>,
        /// Its standard output and standard error.
        output: String,
    },
    /// The peer was started but did not become ready, or exited during start-up.
    Startup {
        /// The peer (`kamailio`, `sipp`).
        peer: &'static str,
        /// What went wrong.
        reason: String,
        /// The peer's log file (kept on disk when the start fails).
        log: PathBuf,
        /// The last lines of that log.
        log_tail: String,
    },
    /// A bounded wait ran out.
    Timeout(String),
    /// A running peer refused or failed what it was told to do (a softphone's command
    /// answered with an error, a REGISTER that failed).
    Refused {
        /// The peer (`baresip`, `pjsua`).
        peer: &'static str,
        /// What it was told (the command and its parameters).
        what: String,
        /// What it answered.
        detail: String,
    },
}

impl PeerError {
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        PeerError::Io { what: what.into(), source }
    }
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerError::Missing(binary) => {
                write!(f, "peer binary `{binary}` not found on PATH (install the peers with scripts/install-peers)")
            }
            PeerError::Config(reason) => write!(f, "invalid peer options: {reason}"),
            PeerError::Io { what, source } => write!(f, "{what}: {source}"),
            PeerError::Command { command, code, output } => {
                match code {
                    Some(code) => write!(f, "`{command}` exited with code {code}")?,
                    None => write!(f, "`{command}` was killed by a signal")?,
                }
                if !output.trim().is_empty() {
                    write!(f, ":\n{}", output.trim_end())?;
                }
                Ok(())
            }
            PeerError::Startup { peer, reason, log, log_tail } => write!(
                f,
                "{peer} did not start: {reason} (log: {}; its last lines:\n{})",
                log.display(),
                log_tail.trim_end()
            ),
            PeerError::Timeout(what) => write!(f, "timed out: {what}"),
            PeerError::Refused { peer, what, detail } => write!(f, "{peer} refused `{what}`: {}", detail.trim_end()),
        }
    }
}

impl std::error::Error for PeerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PeerError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
