//! Decoding with symphonia: identifies the container and codec, checks what the headers declare
//! against the limits before decoding, then decodes every packet once, feeding loudness, waveform
//! and content hash from the same samples.

use sha2::{Digest, Sha256};
use symphonia::core::codecs::audio::{AudioCodecId, AudioDecoderOptions, well_known as codecs};
use symphonia::core::common::Limit;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType, well_known as formats};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;

use super::waveform::WaveformBuilder;
use super::{
    AnalysisError, AnalysisLimits, CHANNELS_MAX, Codec, Container, DECODE_ERRORS_MAX, Loudness,
    SAMPLE_RATE_HZ_MAX, Waveform, sniff,
};

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
    let mut hint = Hint::new();
    if let Some(extension) = extension {
        hint.with_extension(extension);
    }
    let metadata_options = MetadataOptions::default()
        .limit_tag_bytes(Limit::Maximum(SYMPHONIA_TAG_BYTES_MAX))
        .limit_visual_bytes(Limit::Maximum(super::ARTWORK_BYTES_MAX));
    let stream = MediaSourceStream::new(source, Default::default());
    let mut reader = symphonia::default::get_probe()
        .probe(&hint, stream, FormatOptions::default(), metadata_options)
        .map_err(|_| AnalysisError::UnsupportedFormat {
            found: sniff::describe(head),
        })?;

    let container = container_of(reader.as_ref())?;
    let track = reader
        .default_track(TrackType::Audio)
        .ok_or(AnalysisError::NoAudioTrack)?;
    let track_id = track.id;
    let declared_frames = track.num_frames;
    let parameters = track
        .codec_params
        .as_ref()
        .and_then(|parameters| parameters.audio())
        .ok_or(AnalysisError::NoAudioTrack)?
        .clone();
    let codec = codec_of(parameters.codec)?;
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
        check_frames(declared_frames, sample_rate_hz, limits)?;
    }

    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&parameters, &AudioDecoderOptions::default())
        .map_err(|error| match error {
            SymphoniaError::Unsupported(feature) => AnalysisError::UnsupportedCodec {
                found: feature.to_owned(),
            },
            other => malformed(&other.to_string()),
        })?;

    // Some codecs (ALAC) only learn the bit depth from their own configuration, read by the decoder.
    let bits_per_sample = decoder
        .codec_params()
        .bits_per_sample
        .or(parameters.bits_per_sample);
    let mut measurements = Measurements::new(sample_rate_hz, channels)?;
    let mut samples: Vec<f32> = Vec::new();
    let mut decode_errors = 0_u32;
    let mut end_trimmed_frames = 0_u64;
    let mut warnings = Vec::new();
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(SymphoniaError::ResetRequired) => {
                return Err(malformed("the stream changes format midway"));
            }
            Err(SymphoniaError::IoError(error))
                if error.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                break;
            }
            Err(error) => return Err(malformed(&error.to_string())),
        };
        if packet.track_id != track_id {
            continue;
        }
        end_trimmed_frames = end_trimmed_frames.saturating_add(packet.trim_end.get());
        let buffer = match decoder.decode(&packet) {
            Ok(buffer) => buffer,
            Err(SymphoniaError::DecodeError(reason)) => {
                decode_errors += 1;
                if decode_errors > DECODE_ERRORS_MAX {
                    return Err(malformed(reason));
                }
                warnings.push(format!("skipped an undecodable packet: {reason}"));
                continue;
            }
            Err(error) => return Err(malformed(&error.to_string())),
        };
        if buffer.frames() == 0 {
            continue;
        }
        if buffer.spec().rate() != sample_rate_hz
            || buffer.spec().channels().count() != usize::from(channels)
        {
            return Err(malformed("the sample rate or channel count changes midway"));
        }
        buffer.copy_to_vec_interleaved(&mut samples);
        measurements.add(&samples)?;
        check_frames(measurements.frame_count, sample_rate_hz, limits)?;
    }

    if end_trimmed_frames > END_TRIM_FRAMES_MAX {
        return Err(malformed(&format!(
            "the header understates the length: {end_trimmed_frames} frames at the end would be dropped (a variable-bitrate MP3 without a Xing header?)"
        )));
    }
    let frame_count = measurements.frame_count;
    if frame_count == 0 {
        return Err(AnalysisError::NoAudio);
    }
    // Every accepted codec decodes exactly the frames its header declares (after gapless
    // trimming), so any frame missing means the file was cut short.
    if let Some(declared_frames) = declared_frames
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
            bits_per_sample
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

fn container_of(reader: &dyn FormatReader) -> Result<Container, AnalysisError> {
    let info = reader.format_info();
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

/// Integer and floating-point PCM in any byte order; not A-law or µ-law telephony audio.
fn is_plain_pcm(id: AudioCodecId) -> bool {
    (codecs::CODEC_ID_PCM_S32LE..=codecs::CODEC_ID_PCM_F64BE_PLANAR).contains(&id)
}

fn codec_name(id: AudioCodecId) -> String {
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

fn is_lossless(codec: Codec) -> bool {
    matches!(codec, Codec::Flac | Codec::Pcm | Codec::Alac)
}

fn malformed(reason: &str) -> AnalysisError {
    AnalysisError::Malformed {
        reason: reason.to_owned(),
    }
}

fn check_limit(quantity: &str, value: u64, max: u64) -> Result<(), AnalysisError> {
    if value > max {
        Err(AnalysisError::limit_exceeded(quantity, value, max))
    } else {
        Ok(())
    }
}

fn frames_max(sample_rate_hz: u32, limits: &AnalysisLimits) -> u64 {
    limits
        .duration_ms_max
        .saturating_mul(u64::from(sample_rate_hz))
        / 1000
}

/// Checks a frame count (declared or decoded so far) against both the duration and frame limits.
fn check_frames(
    frame_count: u64,
    sample_rate_hz: u32,
    limits: &AnalysisLimits,
) -> Result<(), AnalysisError> {
    check_limit(
        "decoded frame count",
        frame_count,
        limits.decoded_frames_max,
    )?;
    if frame_count > frames_max(sample_rate_hz, limits) {
        return Err(AnalysisError::limit_exceeded(
            "duration in ms",
            frames_to_ms(frame_count, sample_rate_hz),
            limits.duration_ms_max,
        ));
    }
    Ok(())
}

pub(super) fn frames_to_ms(frame_count: u64, sample_rate_hz: u32) -> u64 {
    let rate = u128::from(sample_rate_hz);
    let milliseconds = (u128::from(frame_count) * 1000 + rate / 2) / rate;
    u64::try_from(milliseconds).unwrap_or(u64::MAX)
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
