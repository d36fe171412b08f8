//! Decoding with symphonia: identifies the container and codec, checks what the headers declare
//! against the limits before decoding, then decodes every packet once, feeding loudness, waveform
//! and content hash from the same samples.

use sha2::{Digest, Sha256};
use symphonia::core::codecs::audio::{AudioCodecId, well_known as codecs};
use symphonia::core::common::Limit;
use symphonia::core::formats::{FormatInfo, well_known as formats};
use symphonia::core::io::MediaSource;
use symphonia::core::meta::MetadataOptions;

use super::open::{OpenFailure, codec_name, frames_to_ms, is_plain_pcm, open_audio};
use super::waveform::WaveformBuilder;
use super::{AnalysisError, AnalysisLimits, Codec, Container, Loudness, Waveform, sniff};

/// Tags are read by lofty; symphonia's own tag parsing only needs to get past them.
const SYMPHONIA_TAG_BYTES_MAX: usize = 1024 * 1024;

/// The most frames a demuxer may trim from the end of a stream as encoder padding (two long
/// Vorbis blocks, seven MP3 frames). More means it trimmed audio to a length it only estimated:
/// symphonia estimates an MP3's length from its first frame's bitrate when there is no Xing or
/// VBRI header, and cuts a variable-bitrate file there.
const END_TRIM_FRAMES_MAX: u64 = 8192;

/// What decoding established about the audio itself.
pub(super) struct DecodedAudio {
    pub container: Container,
    pub codec: Codec,
    pub sample_rate_hz: u32,
    pub channels: u16,
    pub bits_per_sample: Option<u32>,
    pub frame_count: u64,
    pub duration_ms: u64,
    pub loudness: Loudness,
    pub waveform: Waveform,
    pub audio_sha256: String,
    pub warnings: Vec<String>,
}

impl DecodedAudio {
    pub(super) fn is_lossless(&self) -> bool {
        is_lossless(self.codec)
    }
}

/// Decodes `source`; `head` (the first bytes of the input) names what was found when it is not audio.
pub(super) fn decode<'s>(
    source: Box<dyn MediaSource + 's>,
    extension: Option<&str>,
    head: &[u8],
    limits: &AnalysisLimits,
) -> Result<DecodedAudio, AnalysisError> {
    let metadata_options = MetadataOptions::default()
        .limit_tag_bytes(Limit::Maximum(SYMPHONIA_TAG_BYTES_MAX))
        .limit_visual_bytes(Limit::Maximum(super::ARTWORK_BYTES_MAX));
    let mut audio = open_audio(source, extension, metadata_options, *limits)
        .map_err(|failure| analysis_error(failure, head))?;
    let container = container_of(audio.format_info())?;
    let codec = codec_of(audio.codec)?;
    let (sample_rate_hz, channels) = (audio.sample_rate_hz, audio.channels);
    let mut measurements = Measurements::new(sample_rate_hz, channels)?;
    let mut samples: Vec<f32> = Vec::new();
    while audio
        .next_block(&mut samples)
        .map_err(|failure| analysis_error(failure, head))?
    {
        measurements.add(&samples)?;
    }
    let warnings = audio
        .skipped_packets
        .iter()
        .map(|reason| format!("skipped an undecodable packet: {reason}"))
        .collect();

    if audio.end_trimmed_frames > END_TRIM_FRAMES_MAX {
        return Err(malformed(&format!(
            "the header understates the length: {} frames at the end would be dropped (a variable-bitrate MP3 without a Xing header?)",
            audio.end_trimmed_frames
        )));
    }
    let frame_count = measurements.frame_count;
    if frame_count == 0 {
        return Err(AnalysisError::NoAudio);
    }
    // Every accepted codec decodes exactly the frames its header declares (after gapless
    // trimming), so any frame missing means the file was cut short.
    if let Some(declared_frames) = audio.declared_frames
        && frame_count < declared_frames
    {
        return Err(AnalysisError::Truncated {
            declared_frames,
            decoded_frames: frame_count,
        });
    }
    let (loudness, waveform, audio_sha256) = measurements.finish()?;
    Ok(DecodedAudio {
        container,
        codec,
        sample_rate_hz,
        channels,
        bits_per_sample: if is_lossless(codec) {
            audio.bits_per_sample
        } else {
            None
        },
        frame_count,
        duration_ms: frames_to_ms(frame_count, sample_rate_hz),
        loudness,
        waveform,
        audio_sha256,
        warnings,
    })
}

fn container_of(info: &FormatInfo) -> Result<Container, AnalysisError> {
    match info.format {
        formats::FORMAT_ID_FLAC => Ok(Container::Flac),
        formats::FORMAT_ID_MP3 => Ok(Container::Mp3),
        formats::FORMAT_ID_OGG => Ok(Container::Ogg),
        formats::FORMAT_ID_WAVE => Ok(Container::Wav),
        formats::FORMAT_ID_AIFF => Ok(Container::Aiff),
        formats::FORMAT_ID_ISOMP4 => Ok(Container::Mp4),
        _ => Err(AnalysisError::UnsupportedFormat {
            found: info.long_name.to_owned(),
        }),
    }
}

fn codec_of(id: AudioCodecId) -> Result<Codec, AnalysisError> {
    match id {
        codecs::CODEC_ID_FLAC => Ok(Codec::Flac),
        codecs::CODEC_ID_MP3 => Ok(Codec::Mp3),
        codecs::CODEC_ID_VORBIS => Ok(Codec::Vorbis),
        codecs::CODEC_ID_AAC => Ok(Codec::Aac),
        codecs::CODEC_ID_ALAC => Ok(Codec::Alac),
        id if is_plain_pcm(id) => Ok(Codec::Pcm),
        id => Err(AnalysisError::UnsupportedCodec {
            found: codec_name(id),
        }),
    }
}

fn is_lossless(codec: Codec) -> bool {
    matches!(codec, Codec::Flac | Codec::Pcm | Codec::Alac)
}

/// The analysis's words for why the file could not be opened or decoded.
fn analysis_error(failure: OpenFailure, head: &[u8]) -> AnalysisError {
    match failure {
        OpenFailure::NotAudio => AnalysisError::UnsupportedFormat {
            found: sniff::describe(head),
        },
        OpenFailure::NoAudioTrack => AnalysisError::NoAudioTrack,
        OpenFailure::UnsupportedCodec(found) => AnalysisError::UnsupportedCodec { found },
        OpenFailure::Malformed(reason) => AnalysisError::Malformed { reason },
        OpenFailure::LimitExceeded {
            quantity,
            value,
            max,
        } => AnalysisError::limit_exceeded(quantity, value, max),
    }
}

fn malformed(reason: &str) -> AnalysisError {
    AnalysisError::Malformed {
        reason: reason.to_owned(),
    }
}

/// Loudness, waveform and content hash, fed from the same interleaved samples in one pass.
struct Measurements {
    loudness_meter: ebur128::EbuR128,
    waveform: WaveformBuilder,
    hasher: Sha256,
    hash_scratch: Vec<u8>,
    channels: u16,
    frame_count: u64,
}

impl Measurements {
    fn new(sample_rate_hz: u32, channels: u16) -> Result<Self, AnalysisError> {
        let loudness_meter = ebur128::EbuR128::new(
            u32::from(channels),
            sample_rate_hz,
            ebur128::Mode::I | ebur128::Mode::TRUE_PEAK,
        )
        .map_err(|error| malformed(&format!("loudness meter: {error}")))?;
        let mut hasher = Sha256::new();
        hasher.update(sample_rate_hz.to_le_bytes());
        hasher.update(channels.to_le_bytes());
        Ok(Self {
            loudness_meter,
            waveform: WaveformBuilder::new(),
            hasher,
            hash_scratch: Vec::new(),
            channels,
            frame_count: 0,
        })
    }

    fn add(&mut self, interleaved: &[f32]) -> Result<(), AnalysisError> {
        self.loudness_meter
            .add_frames_f32(interleaved)
            .map_err(|error| malformed(&format!("loudness meter: {error}")))?;
        let channels = usize::from(self.channels);
        for frame in interleaved.chunks_exact(channels) {
            let peak = frame
                .iter()
                .fold(0.0_f32, |peak, sample| peak.max(sample.abs()));
            self.waveform.add_frame_peak(peak);
        }
        self.hash_scratch.clear();
        for sample in interleaved {
            self.hash_scratch.extend_from_slice(&sample.to_le_bytes());
        }
        self.hasher.update(&self.hash_scratch);
        self.frame_count += u64::try_from(interleaved.len() / channels).unwrap_or(u64::MAX);
        Ok(())
    }

    fn finish(self) -> Result<(Loudness, Waveform, String), AnalysisError> {
        let integrated_lufs = self
            .loudness_meter
            .loudness_global()
            .map_err(|error| malformed(&format!("loudness meter: {error}")))?;
        let mut true_peak_linear = 0.0_f64;
        for channel in 0..u32::from(self.channels) {
            let channel_peak = self
                .loudness_meter
                .true_peak(channel)
                .map_err(|error| malformed(&format!("loudness meter: {error}")))?;
            true_peak_linear = true_peak_linear.max(channel_peak);
        }
        let loudness = Loudness {
            integrated_lufs: integrated_lufs.is_finite().then_some(integrated_lufs),
            true_peak_dbtp: (true_peak_linear > 0.0).then(|| 20.0 * true_peak_linear.log10()),
        };
        Ok((
            loudness,
            self.waveform.finish(),
            hex::encode(self.hasher.finalize()),
        ))
    }
}
