//! Media: the codecs compiled in and preferred, a call's media description, its RTP
//! statistics and MOS (live, or final once ended), and its audio: DTMF sent, files played
//! and recorded, frames pushed and received.

use crate::config::codec_by_name;
use crate::{CallId, ClientError, ClientManager, MediaInfo, RtpStats};
use session_core::{AudioFrames, AudioSource, MediaControl, SessionError};
use std::path::Path;

/// A codec the client can offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecInfo {
    /// Its name in SDP and in the configuration (`PCMU`).
    pub name: String,
    /// The RTP payload type offered.
    pub payload_type: u8,
    /// The RTP clock rate.
    pub clock_rate: u32,
    /// Is it audio (not telephone-event)?
    pub audio: bool,
}

fn info(c: session_core::Codec) -> CodecInfo {
    CodecInfo {
        name: c.name.to_owned(),
        payload_type: c.payload_type,
        clock_rate: c.clock_rate,
        audio: !c.is_telephone_event(),
    }
}

impl ClientManager {
    /// Every codec compiled in.
    pub fn available_codecs(&self) -> Vec<CodecInfo> {
        session_core::Codec::known().into_iter().map(info).collect()
    }

    /// The codecs offered and accepted, best first (`media.codecs`).
    pub fn preferred_codecs(&self) -> Vec<CodecInfo> {
        self.config.media.codecs.iter().filter_map(|n| codec_by_name(n)).map(info).collect()
    }

    /// A live call's media: both SDPs, the RTP addresses, the codec and the direction.
    pub async fn get_call_media_info(&self, id: CallId) -> Result<MediaInfo, ClientError> {
        let session = self.session()?;
        session.get_media_info(id).await.map_err(|e| media_error(e, id))
    }

    /// A call's RTP statistics: live while the call is up, the final ones once it ended.
    pub async fn get_rtp_statistics(&self, id: CallId) -> Result<RtpStats, ClientError> {
        if let Some(rtp) = self.get_call(id).and_then(|c| c.final_rtp().cloned()) {
            return Ok(rtp);
        }
        let session = self.session()?;
        session.get_rtp_statistics(id).await.map_err(|e| media_error(e, id))
    }

    /// The last second (at most) of audio heard on a live call, 16-bit samples at the
    /// codec's rate; silence while the speaker is muted ([`Self::set_speaker_mute`]).
    pub async fn get_received_audio(&self, id: CallId) -> Result<Vec<i16>, ClientError> {
        let session = self.session()?;
        let audio = session.get_received_audio(id).await.map_err(|e| media_error(e, id))?;
        // The stream plays silence from the moment of muting; what it heard before is not
        // handed out either while muted.
        let muted = self.shared.lock().calls.get(&id).is_some_and(|c| c.speaker_muted);
        Ok(if muted { vec![0; audio.len()] } else { audio })
    }

    /// Sends DTMF digits (0-9, *, #, A-D) on a call: RFC 4733 telephone-events when the
    /// peer negotiated them, SIP INFO otherwise. Digits the peer sends arrive as
    /// [`ClientEvent::Dtmf`](crate::ClientEvent::Dtmf).
    #[tracing::instrument(skip(self), fields(call = %id))]
    pub async fn send_dtmf(&self, id: CallId, digits: &str) -> Result<(), ClientError> {
        let session = self.session()?;
        session.send_dtmf(id, digits).await.map_err(|e| media_error(e, id))
    }

    /// Plays a WAV file (PCM or float, any rate and channel count), looped, as the call's
    /// audio. A file in a format that cannot be played is an error that names the format.
    #[tracing::instrument(skip(self, path), fields(call = %id))]
    pub async fn play_audio_file(&self, id: CallId, path: impl AsRef<Path> + Send) -> Result<(), ClientError> {
        let session = self.session()?;
        session.play_audio_file(id, path).await.map_err(|e| media_error(e, id))
    }

    /// What the call sends from now on: silence, a tone, a loaded file, or pushed frames.
    pub async fn set_audio_source(&self, id: CallId, source: AudioSource) -> Result<(), ClientError> {
        let session = self.session()?;
        session.set_audio_source(id, source).await.map_err(|e| media_error(e, id))
    }

    /// Queues 16-bit PCM at the call's audio rate (8 kHz for G.711) to send, for a call
    /// whose source is [`AudioSource::Pushed`]; at most 10 s may wait.
    pub async fn push_audio(&self, id: CallId, samples: Vec<i16>) -> Result<(), ClientError> {
        let session = self.session()?;
        session.push_audio(id, samples).await.map_err(|e| media_error(e, id))
    }

    /// Records what the call hears to a 16-bit PCM mono WAV file, completed when the call
    /// ends or [`Self::stop_recording`] is called.
    #[tracing::instrument(skip(self, path), fields(call = %id))]
    pub async fn start_recording(&self, id: CallId, path: impl AsRef<Path> + Send) -> Result<(), ClientError> {
        let session = self.session()?;
        session.record_audio(id, path).await.map_err(|e| media_error(e, id))
    }

    /// Ends the call's recordings and received-audio streams.
    pub async fn stop_recording(&self, id: CallId) -> Result<(), ClientError> {
        let session = self.session()?;
        session.stop_recording(id).await.map_err(|e| media_error(e, id))
    }

    /// The audio the call hears as an async stream of decoded 20 ms frames, holding at
    /// most `backlog` frames the application has not taken (older ones are dropped and
    /// counted): what a voice bot feeds to speech recognition. It ends with the call.
    pub async fn received_audio_stream(&self, id: CallId, backlog: usize) -> Result<AudioFrames, ClientError> {
        let session = self.session()?;
        session.received_audio_stream(id, backlog).await.map_err(|e| media_error(e, id))
    }
}

fn media_error(e: SessionError, id: CallId) -> ClientError {
    match e {
        SessionError::NotFound(_) => ClientError::CallNotFound(id),
        e => ClientError::Session(e),
    }
}
