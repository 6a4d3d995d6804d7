//! Media: the codecs compiled in and preferred, a call's media description, its RTP
//! statistics (live, or final once ended) and the audio received.

use crate::config::codec_by_name;
use crate::{CallId, ClientError, ClientManager, MediaInfo, RtpStats};
use session_core::{MediaControl, SessionError};

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
        [session_core::Codec::PCMU, session_core::Codec::PCMA, session_core::Codec::TELEPHONE_EVENT]
            .into_iter()
            .map(info)
            .collect()
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

    /// The last second (at most) of audio received on a live call, 8 kHz 16-bit samples;
    /// silence while the speaker is muted ([`Self::set_speaker_mute`]).
    pub async fn get_received_audio(&self, id: CallId) -> Result<Vec<i16>, ClientError> {
        let session = self.session()?;
        let audio = session.get_received_audio(id).await.map_err(|e| media_error(e, id))?;
        let muted = self.shared.lock().calls.get(&id).is_some_and(|c| c.speaker_muted);
        Ok(if muted { vec![0; audio.len()] } else { audio })
    }
}

fn media_error(e: SessionError, id: CallId) -> ClientError {
    match e {
        SessionError::NotFound(_) => ClientError::CallNotFound(id),
        e => ClientError::Session(e),
    }
}
