//! The media options `call`, `answer` and `agent` share — `--play`, `--record`, `--dtmf`,
//! `--codec`, `--srtp`, `--tone` (these spellings are a contract: scripts depend on them) — and the
//! one line of statistics printed at the end of each call.

use super::client::Failure;
use client_core::{CallId, ClientConfig, ClientManager, RtpStats};
use std::path::{Path, PathBuf};

/// The codecs this build can send, by the names `--codec` takes (`opus` with the `opus`
/// feature).
fn built_in() -> Vec<String> {
    client_core::Codec::known()
        .iter()
        .filter(|c| !c.is_telephone_event())
        .map(|c| c.name.to_ascii_lowercase())
        .collect()
}

/// Media options of a command that makes or answers calls.
#[derive(clap::Args, Clone, Default)]
pub struct MediaArgs {
    /// Send this WAV file, looped, as the call's audio (PCM or float, any rate; mixed to
    /// mono and resampled).
    #[arg(long, value_name = "FILE.wav")]
    pub play: Option<PathBuf>,
    /// Record what the call hears to this WAV file (16-bit PCM mono). With several calls,
    /// the second goes to FILE-2.wav, the third to FILE-3.wav, and so on.
    #[arg(long, value_name = "FILE.wav")]
    pub record: Option<PathBuf>,
    /// Send these DTMF digits (0-9, *, #, A-D) once the call is answered; digits received
    /// print as events.
    #[arg(long, value_name = "DIGITS")]
    pub dtmf: Option<String>,
    /// The codecs to offer and accept, best first, comma-separated (pcmu, pcma, g722, and
    /// opus in a build with the `opus` feature); telephone-event is added for DTMF.
    #[arg(long, value_name = "LIST")]
    pub codec: Option<String>,
    /// Send a sine tone of this frequency (Hz) instead of silence.
    #[arg(long)]
    pub tone: Option<f32>,
    /// SRTP with SDES keys: off, optional (offered, used when the peer agrees) or required
    /// (no plain RTP: calls without keys are refused or ended).
    #[arg(long, value_name = "off|optional|required")]
    pub srtp: Option<String>,
}

impl MediaArgs {
    /// Checks the options and writes them into `config`: a file that cannot be played, an
    /// unknown codec or a character that is not a digit is a usage error, before any call.
    pub fn apply(&self, config: &mut ClientConfig) -> Result<(), Failure> {
        if self.tone.is_some() {
            config.media.tone_hz = self.tone;
        }
        if let Some(path) = &self.play {
            // Read once here so that a bad file is refused before anything starts.
            client_core::load_wav(path).map_err(|e| Failure::Usage(format!("--play: {e}")))?;
            config.media.play_file = Some(path.clone());
        }
        if let Some(mode) = &self.srtp {
            mode.parse::<client_core::SrtpPolicy>().map_err(|why| Failure::Usage(format!("--srtp: {why}")))?;
            config.media.srtp = mode.to_ascii_lowercase();
        }
        if let Some(list) = &self.codec {
            config.media.codecs = codecs(list)?;
        }
        if let Some(digits) = &self.dtmf {
            if let Some(c) = digits.chars().find(|c| !"0123456789*#ABCDabcd".contains(*c)) {
                return Err(Failure::Usage(format!("--dtmf: {c:?} is not a DTMF digit (0-9, *, #, A-D)")));
            }
        }
        if let Some(path) = &self.record {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if !dir.is_dir() {
                return Err(Failure::Usage(format!("--record: {} is not a directory", dir.display())));
            }
        }
        Ok(())
    }

    /// Where the `nth` call (from 1) is recorded.
    pub fn record_path(&self, nth: u32) -> Option<PathBuf> {
        let path = self.record.as_ref()?;
        if nth <= 1 {
            return Some(path.clone());
        }
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let name = match path.extension() {
            Some(ext) => format!("{stem}-{nth}.{}", ext.to_string_lossy()),
            None => format!("{stem}-{nth}"),
        };
        Some(path.with_file_name(name))
    }

    /// What to do once call `id` (the `nth` of the run) is answered: start recording, send
    /// the digits. Failures are printed; the call goes on.
    pub async fn on_answered(&self, client: &ClientManager, id: CallId, nth: u32) {
        self.start_recording(client, id, nth).await;
        self.send_digits(client, id).await;
    }

    /// Starts recording call `id` (the `nth` of the run) with `--record`. The caller does
    /// so as soon as its call is placed, so that early media (a 183's ringback or
    /// announcement) is in the file too.
    pub async fn start_recording(&self, client: &ClientManager, id: CallId, nth: u32) {
        if let Some(path) = self.record_path(nth) {
            match client.start_recording(id, &path).await {
                Ok(()) => println!("{id} recording to {}", path.display()),
                Err(e) => println!("{id} cannot record: {e}"),
            }
        }
    }

    /// Sends the `--dtmf` digits in call `id`.
    pub async fn send_digits(&self, client: &ClientManager, id: CallId) {
        if let Some(digits) = &self.dtmf {
            match client.send_dtmf(id, digits).await {
                Ok(()) => println!("{id} sending DTMF {digits}"),
                Err(e) => println!("{id} cannot send DTMF: {e}"),
            }
        }
    }
}

/// The codec names of `--codec`, checked, with telephone-event added.
fn codecs(list: &str) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let lower = name.to_ascii_lowercase();
        if lower == "telephone-event" {
            continue;
        }
        let codecs = built_in();
        if !codecs.contains(&lower) {
            return Err(Failure::Usage(format!(
                "--codec: '{name}' is not a codec of this build (it has: {})",
                codecs.join(", ")
            )));
        }
        if !out.contains(&lower) {
            out.push(lower);
        }
    }
    if out.is_empty() {
        return Err(Failure::Usage(format!("--codec: name at least one codec ({})", built_in().join(", "))));
    }
    out.push("telephone-event".into());
    // The configuration's names, as Codec::by_name knows them.
    Ok(out.into_iter().map(|n| client_core::Codec::by_name(&n).map_or(n, |c| c.name.to_owned())).collect())
}

/// The one line of statistics printed at the end of each call: codec, packets sent and
/// received, loss, jitter, RTT and MOS (and ", SRTP" when the call was encrypted).
pub fn stats_line(id: CallId, s: &RtpStats) -> String {
    let codec = s.codec.map_or_else(|| "none".to_owned(), |c| format!("{}/{}", c.name, c.clock_rate));
    let rtt = s.rtt_ms.map_or_else(|| "-".to_owned(), |r| format!("{r:.1} ms"));
    let mos = s.mos.map_or_else(|| "-".to_owned(), |m| format!("{m:.2}"));
    let srtp = if s.srtp { ", SRTP" } else { "" };
    format!(
        "{id} stats: codec {codec}, sent {} packets, received {}, lost {} ({:.1} %), jitter {:.1} ms, RTT {rtt}, MOS {mos}{srtp}",
        s.packets_sent,
        s.packets_received,
        s.packets_lost,
        s.loss_percent(),
        s.jitter_ms
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_lists_are_checked_and_telephone_event_added() {
        assert_eq!(codecs("pcma,PCMU").ok(), Some(vec!["PCMA".into(), "PCMU".into(), "telephone-event".into()]));
        assert_eq!(codecs(" pcmu ").ok(), Some(vec!["PCMU".into(), "telephone-event".into()]));
        assert!(matches!(codecs("speex,pcmu"), Err(Failure::Usage(m)) if m.contains("'speex'")));
        assert_eq!(codecs("G722").ok(), Some(vec!["G722".into(), "telephone-event".into()]));
        assert!(codecs("").is_err());
        assert!(codecs("telephone-event").is_err());
    }

    #[test]
    fn later_recordings_are_numbered() {
        let m = MediaArgs { record: Some("/tmp/x/heard.wav".into()), ..MediaArgs::default() };
        assert_eq!(m.record_path(1), Some(PathBuf::from("/tmp/x/heard.wav")));
        assert_eq!(m.record_path(3), Some(PathBuf::from("/tmp/x/heard-3.wav")));
        assert_eq!(MediaArgs::default().record_path(1), None);
    }
}
