//! Streams the decoded samples of one audio file to an encoder, block by block, under the same
//! limits as the analysis (sample rate, channels, duration, skipped packets).
//!
//! It overlaps with `crate::analysis::decode`, whose decoder is private to the analysis and
//! feeds its measurements in place; the two could share this opener later.

use std::fs::File;
use std::path::Path;

use symphonia::core::audio::conv::ConvertibleSample;
use symphonia::core::codecs::audio::{
    AudioCodecId, AudioDecoder, AudioDecoderOptions, well_known as codecs,
};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::TranscodeError;
use crate::analysis::{
    CHANNELS_MAX, DECODE_ERRORS_MAX, DECODED_FRAMES_MAX, DURATION_MS_MAX, SAMPLE_RATE_HZ_MAX,
};

/// An opened audio file, decoded on demand.
pub(super) struct DecodedSource {
    reader: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    pub(super) sample_rate_hz: u32,
    pub(super) channels: u16,
    /// The source's bit depth, for lossless sources whose header or decoder declares it.
    pub(super) bits_per_sample: Option<u32>,
    pub(super) is_lossless: bool,
    /// The codec's short name (`flac`, `mp3`, …), for messages.
    pub(super) codec_name: &'static str,
    /// The frame count the header declares, when it does.
    pub(super) declared_frames: Option<u64>,
    frames_max: u64,
    decoded_frames: u64,
    decode_errors: u32,
}

impl DecodedSource {
    /// Opens `path` and prepares its first audio track's decoder; refuses what the analysis would.
    pub(super) fn open(path: &Path) -> Result<Self, TranscodeError> {
        let file = File::open(path).map_err(|error| TranscodeError::io(&error))?;
        let mut hint = Hint::new();
        if let Some(extension) = path.extension().and_then(|extension| extension.to_str()) {
            hint.with_extension(extension);
        }
        let stream = MediaSourceStream::new(Box::new(file), Default::default());
        let reader = symphonia::default::get_probe()
            .probe(
                &hint,
                stream,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|_| unreadable("not a supported audio format"))?;
        let track = reader
            .default_track(TrackType::Audio)
            .ok_or_else(|| unreadable("the file has no audio track"))?;
        let track_id = track.id;
        let declared_frames = track.num_frames;
        let parameters = track
            .codec_params
            .as_ref()
            .and_then(|parameters| parameters.audio())
            .ok_or_else(|| unreadable("the file has no audio track"))?
            .clone();
        let sample_rate_hz = parameters
            .sample_rate
            .filter(|rate| *rate > 0)
            .ok_or_else(|| unreadable("the sample rate is missing"))?;
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
            return Err(unreadable("the channel count is missing"));
        }
        check_limit(
            "channel count",
            u64::try_from(channels).unwrap_or(u64::MAX),
            u64::from(CHANNELS_MAX),
        )?;
        let channels =
            u16::try_from(channels).map_err(|_| unreadable("the channel count does not fit"))?;
        let frames_max = DECODED_FRAMES_MAX
            .min(DURATION_MS_MAX.saturating_mul(u64::from(sample_rate_hz)) / 1000);
        if let Some(declared_frames) = declared_frames {
            check_limit("declared frame count", declared_frames, frames_max)?;
        }
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(&parameters, &AudioDecoderOptions::default())
            .map_err(|error| unreadable(&error.to_string()))?;
        // Some codecs (ALAC) only learn the bit depth from their own configuration.
        let bits_per_sample = decoder
            .codec_params()
            .bits_per_sample
            .or(parameters.bits_per_sample);
        let codec_name = decoder.codec_info().short_name;
        Ok(Self {
            reader,
            decoder,
            track_id,
            sample_rate_hz,
            channels,
            bits_per_sample,
            is_lossless: is_lossless(parameters.codec),
            codec_name,
            declared_frames,
            frames_max,
            decoded_frames: 0,
            decode_errors: 0,
        })
    }

    /// Replaces `samples` with the next block of interleaved samples; `false` at the end.
    pub(super) fn next_block<S: ConvertibleSample>(
        &mut self,
        samples: &mut Vec<S>,
    ) -> Result<bool, TranscodeError> {
        loop {
            let packet = match self.reader.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => return self.finish(),
                Err(SymphoniaError::IoError(error))
                    if error.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    return self.finish();
                }
                Err(error) => return Err(unreadable(&error.to_string())),
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let buffer = match self.decoder.decode(&packet) {
                Ok(buffer) => buffer,
                Err(SymphoniaError::DecodeError(reason)) => {
                    self.decode_errors += 1;
                    if self.decode_errors > DECODE_ERRORS_MAX {
                        return Err(unreadable(reason));
                    }
                    continue;
                }
                Err(error) => return Err(unreadable(&error.to_string())),
            };
            if buffer.frames() == 0 {
                continue;
            }
            if buffer.spec().rate() != self.sample_rate_hz
                || buffer.spec().channels().count() != usize::from(self.channels)
            {
                return Err(unreadable(
                    "the sample rate or channel count changes midway",
                ));
            }
            self.decoded_frames = self
                .decoded_frames
                .saturating_add(u64::try_from(buffer.frames()).unwrap_or(u64::MAX));
            check_limit("decoded frame count", self.decoded_frames, self.frames_max)?;
            buffer.copy_to_vec_interleaved(samples);
            return Ok(true);
        }
    }

    /// Ends the stream: a file without audio, or with less than its header declares, was cut
    /// short, and its transcode would be too.
    fn finish(&self) -> Result<bool, TranscodeError> {
        if self.decoded_frames == 0 {
            return Err(unreadable("the file contains no audio"));
        }
        if let Some(declared_frames) = self.declared_frames
            && self.decoded_frames < declared_frames
        {
            return Err(unreadable(&format!(
                "the header declares {declared_frames} frames but only {} could be decoded",
                self.decoded_frames
            )));
        }
        Ok(false)
    }
}

/// Counts the frames of `path` by decoding it, for files whose header does not declare them.
pub(super) fn count_frames(path: &Path) -> Result<u64, TranscodeError> {
    let mut source = DecodedSource::open(path)?;
    let mut samples: Vec<f32> = Vec::new();
    while source.next_block(&mut samples)? {}
    Ok(source.decoded_frames)
}

/// FLAC, ALAC and plain integer or floating-point PCM.
fn is_lossless(id: AudioCodecId) -> bool {
    id == codecs::CODEC_ID_FLAC
        || id == codecs::CODEC_ID_ALAC
        || (codecs::CODEC_ID_PCM_S32LE..=codecs::CODEC_ID_PCM_F64BE_PLANAR).contains(&id)
}

fn unreadable(reason: &str) -> TranscodeError {
    TranscodeError::Unreadable {
        reason: reason.to_owned(),
    }
}

fn check_limit(quantity: &str, value: u64, max: u64) -> Result<(), TranscodeError> {
    if value > max {
        return Err(TranscodeError::LimitExceeded {
            quantity: quantity.to_owned(),
            value,
            max,
        });
    }
    Ok(())
}
