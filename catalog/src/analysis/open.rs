//! Opening and decoding audio with symphonia, the one path the analysis and the transcoder share:
//! probe the container, take its first audio track, check what the header declares against the
//! limits before a single packet is decoded, then hand out decoded blocks under the same limits
//! (skipped packets, a format that changes midway, the decoded length).

use symphonia::core::audio::conv::ConvertibleSample;
use symphonia::core::codecs::audio::{
    AudioCodecId, AudioDecoder, AudioDecoderOptions, well_known as codecs,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatInfo, FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use super::{AnalysisLimits, CHANNELS_MAX, DECODE_ERRORS_MAX, SAMPLE_RATE_HZ_MAX};

/// Why a file could not be opened or decoded; each caller maps it to its own error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OpenFailure {
    /// No container symphonia knows was recognised.
    NotAudio,
    NoAudioTrack,
    /// The codec's name, for the message.
    UnsupportedCodec(String),
    Malformed(String),
    LimitExceeded {
        quantity: &'static str,
        value: u64,
        max: u64,
    },
}

/// The first audio track of an opened file, with its decoder.
pub(crate) struct OpenedAudio<'s> {
    reader: Box<dyn FormatReader + 's>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    limits: AnalysisLimits,
    pub(crate) codec: AudioCodecId,
    pub(crate) sample_rate_hz: u32,
    pub(crate) channels: u16,
    /// From the header, or (ALAC) from the decoder's own configuration.
    pub(crate) bits_per_sample: Option<u32>,
    /// The frame count the header declares, when it does.
    pub(crate) declared_frames: Option<u64>,
    /// Frames decoded so far.
    pub(crate) decoded_frames: u64,
    /// Frames the demuxer trimmed from the end as encoder padding, so far.
    pub(crate) end_trimmed_frames: u64,
    /// Why each skipped packet could not be decoded (at most [`DECODE_ERRORS_MAX`]).
    pub(crate) skipped_packets: Vec<String>,
}

/// Opens `source` (`extension` is a hint for the probe) and prepares its first audio track's
/// decoder, refusing any declared quantity over `limits`.
pub(crate) fn open_audio<'s>(
    source: Box<dyn MediaSource + 's>,
    extension: Option<&str>,
    metadata_options: MetadataOptions,
    limits: AnalysisLimits,
) -> Result<OpenedAudio<'s>, OpenFailure> {
    let mut hint = Hint::new();
    if let Some(extension) = extension {
        hint.with_extension(extension);
    }
    let stream = MediaSourceStream::new(source, Default::default());
    let reader = symphonia::default::get_probe()
        .probe(&hint, stream, FormatOptions::default(), metadata_options)
        .map_err(|_| OpenFailure::NotAudio)?;
    let track = reader
        .default_track(TrackType::Audio)
        .ok_or(OpenFailure::NoAudioTrack)?;
    let track_id = track.id;
    let declared_frames = track.num_frames;
    let parameters = track
        .codec_params
        .as_ref()
        .and_then(|parameters| parameters.audio())
        .ok_or(OpenFailure::NoAudioTrack)?
        .clone();
    let sample_rate_hz = parameters
        .sample_rate
        .ok_or_else(|| malformed("the sample rate is missing"))?;
    if sample_rate_hz == 0 {
        return Err(malformed("the sample rate is zero"));
    }
    check_limit(
        "sample rate in Hz",
        u64::from(sample_rate_hz),
        u64::from(SAMPLE_RATE_HZ_MAX),
    )?;
    let channels = parameters
        .channels
        .as_ref()
        .map(|channels| channels.count())
        .unwrap_or(0);
    if channels == 0 {
        return Err(malformed("the channel count is missing"));
    }
    check_limit(
        "channel count",
        u64::try_from(channels).unwrap_or(u64::MAX),
        u64::from(CHANNELS_MAX),
    )?;
    let channels =
        u16::try_from(channels).map_err(|_| malformed("the channel count does not fit"))?;
    // A tiny file may declare hours of audio: refuse it before decoding a single packet.
    if let Some(declared_frames) = declared_frames {
        check_frames(declared_frames, sample_rate_hz, &limits)?;
    }
    let decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&parameters, &AudioDecoderOptions::default())
        .map_err(|error| match error {
            SymphoniaError::Unsupported(_) => {
                OpenFailure::UnsupportedCodec(codec_name(parameters.codec))
            }
            other => malformed(&other.to_string()),
        })?;
    let bits_per_sample = decoder
        .codec_params()
        .bits_per_sample
        .or(parameters.bits_per_sample);
    Ok(OpenedAudio {
        reader,
        decoder,
        track_id,
        limits,
        codec: parameters.codec,
        sample_rate_hz,
        channels,
        bits_per_sample,
        declared_frames,
        decoded_frames: 0,
        end_trimmed_frames: 0,
        skipped_packets: Vec::new(),
    })
}

impl OpenedAudio<'_> {
    /// What the probe recognised.
    pub(crate) fn format_info(&self) -> &FormatInfo {
        self.reader.format_info()
    }

    /// The decoder's short name for the codec (`flac`, `mp3`, …).
    pub(crate) fn codec_short_name(&self) -> &'static str {
        self.decoder.codec_info().short_name
    }

    /// Replaces `samples` with the next block of interleaved samples; `false` at the end.
    /// A few undecodable packets are skipped (and remembered); more, or a format that changes
    /// midway, or audio longer than the limits, refuse the file.
    pub(crate) fn next_block<S: ConvertibleSample>(
        &mut self,
        samples: &mut Vec<S>,
    ) -> Result<bool, OpenFailure> {
        loop {
            let packet = match self.reader.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => return Ok(false),
                Err(SymphoniaError::IoError(error))
                    if error.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    return Ok(false);
                }
                Err(SymphoniaError::ResetRequired) => {
                    return Err(malformed("the stream changes format midway"));
                }
                Err(error) => return Err(malformed(&error.to_string())),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            self.end_trimmed_frames = self
                .end_trimmed_frames
                .saturating_add(packet.trim_end.get());
            let buffer = match self.decoder.decode(&packet) {
                Ok(buffer) => buffer,
                Err(SymphoniaError::DecodeError(reason)) => {
                    if self.skipped_packets.len() >= usize::try_from(DECODE_ERRORS_MAX).unwrap_or(0)
                    {
                        return Err(malformed(reason));
                    }
                    self.skipped_packets.push(reason.to_owned());
                    continue;
                }
                Err(error) => return Err(malformed(&error.to_string())),
            };
            if buffer.frames() == 0 {
                continue;
            }
            if buffer.spec().rate() != self.sample_rate_hz
                || buffer.spec().channels().count() != usize::from(self.channels)
            {
                return Err(malformed("the sample rate or channel count changes midway"));
            }
            self.decoded_frames = self
                .decoded_frames
                .saturating_add(u64::try_from(buffer.frames()).unwrap_or(u64::MAX));
            check_frames(self.decoded_frames, self.sample_rate_hz, &self.limits)?;
            buffer.copy_to_vec_interleaved(samples);
            return Ok(true);
        }
    }
}

/// FLAC, ALAC and plain integer or floating-point PCM.
pub(crate) fn is_lossless(id: AudioCodecId) -> bool {
    id == codecs::CODEC_ID_FLAC || id == codecs::CODEC_ID_ALAC || is_plain_pcm(id)
}

/// Integer and floating-point PCM in any byte order; not A-law or µ-law telephony audio.
pub(crate) fn is_plain_pcm(id: AudioCodecId) -> bool {
    (codecs::CODEC_ID_PCM_S32LE..=codecs::CODEC_ID_PCM_F64BE_PLANAR).contains(&id)
}

/// A name for a codec people know, also for codecs no decoder is registered for.
pub(crate) fn codec_name(id: AudioCodecId) -> String {
    let well_known_names = [
        (codecs::CODEC_ID_OPUS, "opus"),
        (codecs::CODEC_ID_SPEEX, "speex"),
        (codecs::CODEC_ID_MUSEPACK, "musepack"),
        (codecs::CODEC_ID_MP1, "mp1"),
        (codecs::CODEC_ID_MP2, "mp2"),
        (codecs::CODEC_ID_PCM_ALAW, "pcm a-law"),
        (codecs::CODEC_ID_PCM_MULAW, "pcm µ-law"),
    ];
    if let Some((_, name)) = well_known_names.iter().find(|(known, _)| *known == id) {
        return (*name).to_owned();
    }
    match symphonia::default::get_codecs().get_audio_decoder(id) {
        Some(registered) => registered.codec.info.short_name.to_owned(),
        None => format!("codec id {id}"),
    }
}

/// Milliseconds of `frame_count` frames, rounded to the nearest.
pub(crate) fn frames_to_ms(frame_count: u64, sample_rate_hz: u32) -> u64 {
    let rate = u128::from(sample_rate_hz.max(1));
    let milliseconds = (u128::from(frame_count) * 1000 + rate / 2) / rate;
    u64::try_from(milliseconds).unwrap_or(u64::MAX)
}

fn malformed(reason: &str) -> OpenFailure {
    OpenFailure::Malformed(reason.to_owned())
}

fn check_limit(quantity: &'static str, value: u64, max: u64) -> Result<(), OpenFailure> {
    if value > max {
        Err(OpenFailure::LimitExceeded {
            quantity,
            value,
            max,
        })
    } else {
        Ok(())
    }
}

/// Checks a frame count (declared or decoded so far) against both the frame and duration limits.
fn check_frames(
    frame_count: u64,
    sample_rate_hz: u32,
    limits: &AnalysisLimits,
) -> Result<(), OpenFailure> {
    check_limit(
        "decoded frame count",
        frame_count,
        limits.decoded_frames_max,
    )?;
    let frames_max = limits
        .duration_ms_max
        .saturating_mul(u64::from(sample_rate_hz))
        / 1000;
    if frame_count > frames_max {
        return Err(OpenFailure::LimitExceeded {
            quantity: "duration in ms",
            value: frames_to_ms(frame_count, sample_rate_hz),
            max: limits.duration_ms_max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A 16-bit PCM WAV of `frames` frames at `rate` Hz, `channels` channels, all zero.
    fn wav(rate: u32, channels: u16, frames: u32) -> Vec<u8> {
        let block_align = channels * 2;
        let data_bytes = frames * u32::from(block_align);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"RIFF");
        bytes.extend_from_slice(&(36 + data_bytes).to_le_bytes());
        bytes.extend_from_slice(b"WAVEfmt ");
        bytes.extend_from_slice(&16_u32.to_le_bytes());
        bytes.extend_from_slice(&1_u16.to_le_bytes());
        bytes.extend_from_slice(&channels.to_le_bytes());
        bytes.extend_from_slice(&rate.to_le_bytes());
        bytes.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
        bytes.extend_from_slice(&block_align.to_le_bytes());
        bytes.extend_from_slice(&16_u16.to_le_bytes());
        bytes.extend_from_slice(b"data");
        bytes.extend_from_slice(&data_bytes.to_le_bytes());
        bytes.resize(bytes.len() + usize::try_from(data_bytes).expect("small"), 0);
        bytes
    }

    fn open(bytes: Vec<u8>, limits: AnalysisLimits) -> Result<OpenedAudio<'static>, OpenFailure> {
        open_audio(
            Box::new(Cursor::new(bytes)),
            Some("wav"),
            MetadataOptions::default(),
            limits,
        )
    }

    #[test]
    fn decodes_every_declared_frame() {
        let mut audio = open(wav(8_000, 2, 4_000), AnalysisLimits::default()).expect("opens");
        assert_eq!(
            (audio.sample_rate_hz, audio.channels, audio.declared_frames),
            (8_000, 2, Some(4_000))
        );
        assert!(is_lossless(audio.codec));
        let mut samples: Vec<f32> = Vec::new();
        while audio.next_block(&mut samples).expect("decodes") {}
        assert_eq!(audio.decoded_frames, 4_000);
        assert!(audio.skipped_packets.is_empty());
    }

    #[test]
    fn refuses_a_declared_length_over_the_limit_before_decoding() {
        let limits = AnalysisLimits {
            duration_ms_max: 100,
            ..AnalysisLimits::default()
        };
        let refused = open(wav(8_000, 1, 8_000), limits).err();
        assert_eq!(
            refused,
            Some(OpenFailure::LimitExceeded {
                quantity: "duration in ms",
                value: 1_000,
                max: 100
            })
        );
    }

    #[test]
    fn names_what_is_not_audio() {
        let refused = open(
            b"plain text, not audio at all".to_vec(),
            AnalysisLimits::default(),
        );
        assert_eq!(refused.err(), Some(OpenFailure::NotAudio));
    }
}
