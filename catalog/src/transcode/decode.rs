//! Streams the decoded samples of one audio file to an encoder, block by block, through the
//! analysis's opener (`crate::analysis::open`), so a transcode refuses exactly what the analysis
//! refuses (sample rate, channels, duration, skipped packets).

use std::fs::File;
use std::path::Path;

use symphonia::core::audio::conv::ConvertibleSample;
use symphonia::core::meta::MetadataOptions;

use super::TranscodeError;
use crate::analysis::AnalysisLimits;
use crate::analysis::open::{OpenFailure, OpenedAudio, is_lossless, open_audio};

/// An opened audio file, decoded on demand.
pub(super) struct DecodedSource {
    audio: OpenedAudio<'static>,
    pub(super) sample_rate_hz: u32,
    pub(super) channels: u16,
    /// The source's bit depth, for lossless sources whose header or decoder declares it.
    pub(super) bits_per_sample: Option<u32>,
    pub(super) is_lossless: bool,
    /// The codec's short name (`flac`, `mp3`, …), for messages.
    pub(super) codec_name: &'static str,
    /// The frame count the header declares, when it does.
    pub(super) declared_frames: Option<u64>,
}

impl DecodedSource {
    /// Opens `path` and prepares its first audio track's decoder; refuses what the analysis would.
    pub(super) fn open(path: &Path) -> Result<Self, TranscodeError> {
        let file = File::open(path).map_err(|error| TranscodeError::io(&error))?;
        let extension = path.extension().and_then(|extension| extension.to_str());
        let audio = open_audio(
            Box::new(file),
            extension,
            MetadataOptions::default(),
            AnalysisLimits::default(),
        )
        .map_err(transcode_error)?;
        Ok(Self {
            sample_rate_hz: audio.sample_rate_hz,
            channels: audio.channels,
            bits_per_sample: audio.bits_per_sample,
            is_lossless: is_lossless(audio.codec),
            codec_name: audio.codec_short_name(),
            declared_frames: audio.declared_frames,
            audio,
        })
    }

    /// Replaces `samples` with the next block of interleaved samples; `false` at the end.
    pub(super) fn next_block<S: ConvertibleSample>(
        &mut self,
        samples: &mut Vec<S>,
    ) -> Result<bool, TranscodeError> {
        if self.audio.next_block(samples).map_err(transcode_error)? {
            return Ok(true);
        }
        self.finish()
    }

    /// Ends the stream: a file without audio, or with less than its header declares, was cut
    /// short, and its transcode would be too.
    fn finish(&self) -> Result<bool, TranscodeError> {
        let decoded_frames = self.audio.decoded_frames;
        if decoded_frames == 0 {
            return Err(unreadable("the file contains no audio"));
        }
        if let Some(declared_frames) = self.declared_frames
            && decoded_frames < declared_frames
        {
            return Err(unreadable(&format!(
                "the header declares {declared_frames} frames but only {decoded_frames} could be decoded"
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
    Ok(source.audio.decoded_frames)
}

fn transcode_error(failure: OpenFailure) -> TranscodeError {
    match failure {
        OpenFailure::NotAudio => unreadable("not a supported audio format"),
        OpenFailure::NoAudioTrack => unreadable("the file has no audio track"),
        OpenFailure::UnsupportedCodec(codec) => {
            unreadable(&format!("the {codec} codec is not supported"))
        }
        OpenFailure::Malformed(reason) => unreadable(&reason),
        OpenFailure::LimitExceeded {
            quantity,
            value,
            max,
        } => TranscodeError::LimitExceeded {
            quantity: quantity.to_owned(),
            value,
            max,
        },
    }
}

fn unreadable(reason: &str) -> TranscodeError {
    TranscodeError::Unreadable {
        reason: reason.to_owned(),
    }
}
