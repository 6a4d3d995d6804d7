//! Audio in and out of a call, as 16-bit PCM: what a stream sends ([`AudioSource`]) and
//! where what it hears goes ([`AudioSink`], [`WavRecorder`]).
//!
//! Owns the sources (silence, a tone, a WAV file loaded once and looped, frames pushed by
//! the application), WAV files in and out (read with `hound`, converted to mono and to the
//! codec's rate with `rubato` when loaded; written as 16-bit PCM), and the sink interface
//! the stream feeds each played frame to. It must not encode, packetize or touch sockets:
//! the stream asks a source for a frame at the codec's rate and hands the sinks what it
//! decoded.

use crate::tone::ToneGenerator;
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The peak amplitude of a tone source (about -12 dBFS).
pub const TONE_AMPLITUDE: i16 = 8000;
/// The most pushed audio a source holds, in seconds; more is refused.
pub const PUSH_LIMIT_SECONDS: u32 = 10;

/// Why audio could not be read or written.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AudioError {
    /// The file could not be opened or created.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: Arc<std::io::Error>,
    },
    /// A WAV file in a format that cannot be played; `format` names it.
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// The format found, e.g. "format tag 0x0011 (IMA ADPCM)".
        format: String,
    },
    /// Not a WAV file, or a damaged one.
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// Pushed audio beyond [`PUSH_LIMIT_SECONDS`] waiting.
    Full,
}

impl fmt::Display for AudioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AudioError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            AudioError::UnsupportedFormat { path, format } => {
                write!(f, "{}: cannot play WAV {format} (use PCM, 8 to 32 bits, or 32-bit float)", path.display())
            }
            AudioError::Invalid { path, why } => write!(f, "{}: not a usable WAV file: {why}", path.display()),
            AudioError::Full => write!(f, "more than {PUSH_LIMIT_SECONDS} s of pushed audio waiting"),
        }
    }
}

impl std::error::Error for AudioError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AudioError::Io { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

/// Equal when the same thing went wrong with the same file (I/O errors compare by kind).
impl PartialEq for AudioError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (AudioError::Io { path: a, source: x }, AudioError::Io { path: b, source: y }) => {
                a == b && x.kind() == y.kind()
            }
            (
                AudioError::UnsupportedFormat { path: a, format: x },
                AudioError::UnsupportedFormat { path: b, format: y },
            ) => a == b && x == y,
            (AudioError::Invalid { path: a, why: x }, AudioError::Invalid { path: b, why: y }) => a == b && x == y,
            (AudioError::Full, AudioError::Full) => true,
            _ => false,
        }
    }
}

impl Eq for AudioError {}

/// Mono 16-bit PCM at a known rate, shared cheaply (a file loaded once, sent by many calls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcm {
    /// The sample rate in Hz.
    pub rate: u32,
    /// The samples.
    pub samples: Arc<[i16]>,
}

impl Pcm {
    /// The same audio at `rate` (itself when the rate matches).
    pub fn at_rate(&self, rate: u32) -> Pcm {
        if rate == self.rate || self.samples.is_empty() {
            return Pcm { rate, samples: self.samples.clone() };
        }
        let input: Vec<f32> = self.samples.iter().map(|s| f32::from(*s) / 32768.0).collect();
        let samples = resample(&input, self.rate, rate).into_iter().map(to_i16).collect::<Vec<_>>();
        Pcm { rate, samples: samples.into() }
    }

    /// How long it plays.
    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.samples.len() as f64 / f64::from(self.rate.max(1)))
    }
}

fn to_i16(x: f32) -> i16 {
    (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// `input` at `from` Hz converted to `to` Hz with rubato's FFT resampler (a fixed ratio).
fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    use audioadapter_buffers::direct::InterleavedSlice;
    use rubato::{Fft, FixedSync, Resampler};
    let linear = || {
        // Should the resampler refuse the rates, fall back to linear interpolation.
        let n = (input.len() as u64 * u64::from(to) / u64::from(from.max(1))) as usize;
        (0..n)
            .map(|i| {
                let x = i as f64 * f64::from(from) / f64::from(to);
                let (k, frac) = (x as usize, (x.fract()) as f32);
                let a = input.get(k).copied().unwrap_or(0.0);
                let b = input.get(k + 1).copied().unwrap_or(a);
                a + (b - a) * frac
            })
            .collect()
    };
    let Ok(mut resampler) = Fft::<f32>::new(from as usize, to as usize, 1024, 1, FixedSync::Both) else {
        return linear();
    };
    let Ok(adapter) = InterleavedSlice::new(input, 1, input.len()) else { return linear() };
    match resampler.process_all(&adapter, input.len(), None) {
        Ok(out) => out.take_data(),
        Err(_) => linear(),
    }
}

/// The name of a WAV format tag, for errors.
fn format_tag_name(tag: u16) -> &'static str {
    match tag {
        0x0001 => "PCM",
        0x0002 => "Microsoft ADPCM",
        0x0003 => "IEEE float",
        0x0006 => "A-law",
        0x0007 => "µ-law",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0055 => "MPEG Layer 3",
        0xFFFE => "extensible",
        _ => "unknown",
    }
}

/// The format tag and bits per sample of a RIFF/WAVE file's `fmt ` chunk, read by hand so
/// that a format hound refuses can be named.
fn peek_format(path: &Path) -> Option<(u16, u16)> {
    use std::io::Read;
    let mut head = vec![0u8; 4096];
    let mut file = File::open(path).ok()?;
    let n = file.read(&mut head).ok()?;
    let head = &head[..n];
    if head.get(..4)? != b"RIFF" || head.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut at = 12;
    while at + 8 <= head.len() {
        let id = &head[at..at + 4];
        let len = u32::from_le_bytes([head[at + 4], head[at + 5], head[at + 6], head[at + 7]]) as usize;
        if id == b"fmt " {
            let tag = u16::from_le_bytes([*head.get(at + 8)?, *head.get(at + 9)?]);
            let bits = u16::from_le_bytes([*head.get(at + 22)?, *head.get(at + 23)?]);
            return Some((tag, bits));
        }
        at += 8 + len + len % 2;
    }
    None
}

/// Reads a WAV file as mono PCM at its own rate: PCM of 8 to 32 bits or 32-bit float, any
/// number of channels (averaged). Other formats are refused with an error naming them.
pub fn load_wav(path: impl AsRef<Path>) -> Result<Pcm, AudioError> {
    let path = path.as_ref();
    let reader = hound::WavReader::open(path).map_err(|e| wav_error(path, e))?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels.max(1));
    let mono: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => {
            let samples: Result<Vec<f32>, _> = reader.into_samples::<f32>().collect();
            samples.map_err(|e| wav_error(path, e))?
        }
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            let samples: Result<Vec<i32>, _> = reader.into_samples::<i32>().collect();
            samples.map_err(|e| wav_error(path, e))?.into_iter().map(|s| s as f32 * scale).collect()
        }
    }
    .chunks(channels)
    .map(|frame| frame.iter().sum::<f32>() / frame.len() as f32)
    .collect();
    let samples: Vec<i16> = mono.into_iter().map(to_i16).collect();
    Ok(Pcm { rate: spec.sample_rate, samples: samples.into() })
}

fn wav_error(path: &Path, e: hound::Error) -> AudioError {
    match e {
        hound::Error::IoError(source) => AudioError::Io { path: path.to_owned(), source: Arc::new(source) },
        other => match peek_format(path) {
            // hound refuses compressed formats as unsupported or as an inconsistent fmt
            // chunk: either way, name the format.
            Some((tag, bits))
                if !matches!(tag, 0x0001 | 0x0003 | 0xFFFE) || matches!(other, hound::Error::Unsupported) =>
            {
                let format = format!("format tag 0x{tag:04X} ({}), {bits} bits per sample", format_tag_name(tag));
                AudioError::UnsupportedFormat { path: path.to_owned(), format }
            }
            _ => AudioError::Invalid { path: path.to_owned(), why: other.to_string() },
        },
    }
}

/// What a stream sends.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioSource {
    /// Digital silence.
    Silence,
    /// A sine tone of this frequency at [`TONE_AMPLITUDE`].
    Tone(f32),
    /// A recording, played from the start and looped.
    File(Pcm),
    /// Frames the application pushes, played in order; silence when none wait.
    Pushed,
}

/// A source being played at one rate.
#[derive(Debug)]
pub(crate) struct Player {
    rate: u32,
    kind: Playing,
    /// Pushed audio waiting (filled by the application whatever the source).
    pushed: VecDeque<i16>,
}

#[derive(Debug)]
enum Playing {
    Silence,
    Tone(ToneGenerator),
    File { pcm: Pcm, at: usize },
    Pushed,
}

impl Player {
    pub(crate) fn new(source: &AudioSource, rate: u32) -> Player {
        let kind = match source {
            AudioSource::Silence => Playing::Silence,
            AudioSource::Tone(hz) => Playing::Tone(ToneGenerator::new(*hz, TONE_AMPLITUDE, rate)),
            AudioSource::File(pcm) => Playing::File { pcm: pcm.at_rate(rate), at: 0 },
            AudioSource::Pushed => Playing::Pushed,
        };
        Player { rate, kind, pushed: VecDeque::new() }
    }

    /// Replaces what is played, keeping pushed audio.
    pub(crate) fn set(&mut self, source: &AudioSource) {
        let pushed = std::mem::take(&mut self.pushed);
        *self = Player::new(source, self.rate);
        self.pushed = pushed;
    }

    /// Queues application audio (at the player's rate).
    pub(crate) fn push(&mut self, samples: &[i16]) -> Result<(), AudioError> {
        if self.pushed.len() + samples.len() > (PUSH_LIMIT_SECONDS * self.rate) as usize {
            return Err(AudioError::Full);
        }
        self.pushed.extend(samples);
        Ok(())
    }

    /// Fills the next frame; returns false when it is silence by construction (the silent
    /// source, or nothing pushed), so the caller may skip encoding it.
    pub(crate) fn fill(&mut self, out: &mut [i16]) -> bool {
        match &mut self.kind {
            Playing::Silence => return false,
            Playing::Pushed if self.pushed.is_empty() => return false,
            _ => {}
        }
        match &mut self.kind {
            Playing::Silence => out.fill(0),
            Playing::Tone(gen) => gen.fill(out),
            Playing::File { pcm, at } => {
                if pcm.samples.is_empty() {
                    out.fill(0);
                } else {
                    for s in out.iter_mut() {
                        *s = pcm.samples[*at];
                        *at = (*at + 1) % pcm.samples.len();
                    }
                }
            }
            Playing::Pushed => {
                for s in out.iter_mut() {
                    *s = self.pushed.pop_front().unwrap_or(0);
                }
            }
        }
        true
    }
}

/// Where decoded received audio goes, one frame at a time as the stream plays it out.
/// Called with the stream's state locked: implementations must not block for long.
pub trait AudioSink: Send {
    /// Takes a frame of `rate` Hz audio. Returns false when the sink is done and should be
    /// dropped.
    fn write(&mut self, frame: &[i16], rate: u32) -> bool;
}

/// Writes what a stream hears to a 16-bit PCM mono WAV file at the codec's rate.
///
/// The file is created at once, so that a path that cannot be written fails before the
/// call; the WAV header is written with the first frame, when the rate is known, and
/// completed when the recorder is dropped or [`WavRecorder::finish`]ed. Writes go through a
/// buffer: a frame costs a copy, a disk write happens every few hundred milliseconds.
pub struct WavRecorder {
    path: PathBuf,
    file: Option<File>,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    rate: u32,
    failed: bool,
}

impl fmt::Debug for WavRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WavRecorder").field("path", &self.path).field("rate", &self.rate).finish()
    }
}

impl WavRecorder {
    /// Creates (or truncates) the file.
    pub fn create(path: impl AsRef<Path>) -> Result<WavRecorder, AudioError> {
        let path = path.as_ref().to_owned();
        let file =
            File::create(&path).map_err(|source| AudioError::Io { path: path.clone(), source: Arc::new(source) })?;
        Ok(WavRecorder { path, file: Some(file), writer: None, rate: 0, failed: false })
    }

    /// Completes the WAV header. Dropping the recorder does the same, ignoring errors.
    pub fn finish(mut self) -> Result<(), AudioError> {
        self.finish_inner()
    }

    fn finish_inner(&mut self) -> Result<(), AudioError> {
        if let Some(writer) = self.writer.take() {
            writer.finalize().map_err(|e| wav_error(&self.path, e))?;
        } else if let Some(file) = self.file.take() {
            // Nothing was heard: still leave a valid, empty WAV file.
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: 8000,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let writer = hound::WavWriter::new(BufWriter::new(file), spec).map_err(|e| wav_error(&self.path, e))?;
            writer.finalize().map_err(|e| wav_error(&self.path, e))?;
        }
        Ok(())
    }
}

impl Drop for WavRecorder {
    fn drop(&mut self) {
        if let Err(e) = self.finish_inner() {
            tracing::warn!(error = %e, "recording not completed");
        }
    }
}

impl AudioSink for WavRecorder {
    fn write(&mut self, frame: &[i16], rate: u32) -> bool {
        if self.failed {
            return false;
        }
        if self.writer.is_none() {
            let Some(file) = self.file.take() else { return false };
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: rate,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            match hound::WavWriter::new(BufWriter::new(file), spec) {
                Ok(w) => {
                    self.writer = Some(w);
                    self.rate = rate;
                }
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "cannot record");
                    self.failed = true;
                    return false;
                }
            }
        }
        if rate != self.rate {
            // A re-INVITE changed the codec's rate: the file keeps its own, so say so once.
            tracing::warn!(path = %self.path.display(), file_rate = self.rate, rate, "recording continues at the file's rate");
        }
        let Some(writer) = self.writer.as_mut() else { return false };
        let mut w = writer.get_i16_writer(frame.len() as u32);
        for s in frame {
            w.write_sample(*s);
        }
        if let Err(e) = w.flush() {
            tracing::warn!(path = %self.path.display(), error = %e, "recording stopped");
            self.failed = true;
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::dominant_tone;

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("media-core-audio-{}-{name}", std::process::id()))
    }

    fn write_wav(path: &Path, rate: u32, channels: u16, samples: &[i16]) {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for s in samples {
            w.write_sample(*s).unwrap();
        }
        w.finalize().unwrap();
    }

    #[test]
    fn a_48k_stereo_file_plays_as_8k_mono_with_its_tone() {
        let path = tmp("stereo.wav");
        let tone = ToneGenerator::new(1000.0, 8000, 48_000).samples(48_000);
        let stereo: Vec<i16> = tone.iter().flat_map(|s| [*s, *s]).collect();
        write_wav(&path, 48_000, 2, &stereo);
        let pcm = load_wav(&path).unwrap();
        assert_eq!((pcm.rate, pcm.samples.len()), (48_000, 48_000));
        let mut player = Player::new(&AudioSource::File(pcm), 8000);
        let mut frame = vec![0i16; 8000];
        player.fill(&mut frame);
        assert_eq!(dominant_tone(&frame[400..], &[400.0, 1000.0, 2000.0], 8000, 0.5), Some(1000.0));
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn a_file_loops_and_pushed_audio_plays_in_order() {
        let pcm = Pcm { rate: 8000, samples: vec![1, 2, 3].into() };
        let mut p = Player::new(&AudioSource::File(pcm), 8000);
        let mut out = [0i16; 7];
        p.fill(&mut out);
        assert_eq!(out, [1, 2, 3, 1, 2, 3, 1]);
        let mut p = Player::new(&AudioSource::Pushed, 8000);
        p.push(&[5, 6]).unwrap();
        let mut out = [9i16; 3];
        assert!(p.fill(&mut out));
        assert_eq!(out, [5, 6, 0]);
        assert!(!p.fill(&mut out), "nothing pushed: silence, and no samples to encode");
        assert!(!Player::new(&AudioSource::Silence, 8000).fill(&mut out));
        assert!(matches!(p.push(&vec![0; 80_001]), Err(AudioError::Full)));
    }

    #[test]
    fn unplayable_files_name_their_format() {
        let path = tmp("adpcm.wav");
        // A minimal RIFF/WAVE with an IMA ADPCM fmt chunk.
        let mut b = Vec::new();
        b.extend_from_slice(b"RIFF");
        b.extend_from_slice(&40u32.to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&20u32.to_le_bytes());
        b.extend_from_slice(&0x0011u16.to_le_bytes()); // IMA ADPCM
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&8000u32.to_le_bytes());
        b.extend_from_slice(&4055u32.to_le_bytes());
        b.extend_from_slice(&256u16.to_le_bytes());
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        b.extend_from_slice(&505u16.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&0u32.to_le_bytes());
        std::fs::write(&path, &b).unwrap();
        let err = load_wav(&path).unwrap_err();
        assert!(err.to_string().contains("IMA ADPCM"), "{err}");
        std::fs::write(&path, b"not a wav at all").unwrap();
        assert!(matches!(load_wav(&path), Err(AudioError::Invalid { .. })));
        assert!(matches!(load_wav(tmp("missing.wav")), Err(AudioError::Io { .. })));
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn the_recorder_writes_16_bit_mono_at_the_stream_rate() {
        let path = tmp("rec.wav");
        let mut r = WavRecorder::create(&path).unwrap();
        assert!(r.write(&[1, -1, 300], 16_000));
        r.finish().unwrap();
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!((reader.spec().sample_rate, reader.spec().channels, reader.spec().bits_per_sample), (16_000, 1, 16));
        assert_eq!(reader.into_samples::<i16>().map(Result::unwrap).collect::<Vec<_>>(), [1, -1, 300]);
        drop(WavRecorder::create(&path).unwrap());
        assert_eq!(hound::WavReader::open(&path).unwrap().len(), 0, "an unused recorder leaves an empty WAV");
        assert!(WavRecorder::create("/nonexistent-dir/x.wav").is_err());
        std::fs::remove_file(&path).ok();
    }
}
