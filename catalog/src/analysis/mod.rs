//! Audio analysis of one uploaded file: container and codec, exact duration, tags, artwork,
//! EBU R128 loudness, waveform peaks and a content hash.
//!
//! Everything here runs in the calling process and trusts nothing in the file: every size read
//! from a header is checked against a named limit before it is used.
//! The decoders underneath (symphonia, lofty) still have known panics and huge allocations on
//! crafted files, so the server runs this code through [`crate::sandbox::AnalysisSandbox`],
//! never directly on an upload.

pub(crate) mod artwork;
mod completeness;
mod decode;
pub(crate) mod open;
mod serde_base64;
mod sniff;
mod tags;
mod waveform;

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};
use symphonia::core::io::MediaSource;

pub use artwork::{ARTWORK_BYTES_MAX, ARTWORK_SIDE_PIXELS_MAX, ARTWORK_SIZES_PIXELS};
pub use tags::{TAG_TEXT_CHARS_MAX, read_properties_and_tags, read_properties_and_tags_from_bytes};
pub use waveform::WAVEFORM_BINS;

/// The largest input accepted, in bytes: two hours of 24-bit 96 kHz stereo WAV fit.
pub const INPUT_BYTES_MAX: u64 = 4 * 1024 * 1024 * 1024;
/// The longest audio accepted: a long DJ mix fits, a decompression bomb of silence does not.
pub const DURATION_MS_MAX: u64 = 2 * 60 * 60 * 1000;
/// The most frames decoded from one file, whatever its sample rate (two hours at 192 kHz).
pub const DECODED_FRAMES_MAX: u64 = 2 * 60 * 60 * 192_000;
/// The highest sample rate accepted.
pub const SAMPLE_RATE_HZ_MAX: u32 = 384_000;
/// The most channels accepted (7.1 surround).
pub const CHANNELS_MAX: u16 = 8;
/// How many undecodable packets are skipped (with a warning) before the file is refused.
pub const DECODE_ERRORS_MAX: u32 = 8;

/// The limits one analysis runs under; [`AnalysisLimits::default`] is the product's limits.
///
/// Only tests use other values, to reach a limit with a small file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnalysisLimits {
    pub input_bytes_max: u64,
    pub duration_ms_max: u64,
    pub decoded_frames_max: u64,
}

impl Default for AnalysisLimits {
    fn default() -> Self {
        Self {
            input_bytes_max: INPUT_BYTES_MAX,
            duration_ms_max: DURATION_MS_MAX,
            decoded_frames_max: DECODED_FRAMES_MAX,
        }
    }
}

/// The result of analysing one audio file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub container: Container,
    pub codec: Codec,
    pub sample_rate_hz: u32,
    pub channels: u16,
    /// Bits per sample of the source, for lossless codecs; lossy codecs have none.
    pub bits_per_sample: Option<u32>,
    /// Decoded frames (one sample per channel), after gapless trimming of encoder delay and padding.
    pub frame_count: u64,
    /// `frame_count` in milliseconds, rounded to the nearest.
    pub duration_ms: u64,
    pub tags: Tags,
    pub artwork: Option<Artwork>,
    pub loudness: Loudness,
    pub waveform: Waveform,
    /// SHA-256 (hex) over the sample rate, channel count and decoded samples, so that the same
    /// audio is recognised whatever its tags, and whatever lossless container carries it.
    pub audio_sha256: String,
    /// Problems that did not prevent the analysis (unreadable tags, invalid artwork, …), for the artist.
    pub warnings: Vec<String>,
}

/// The containers Megabox accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Container {
    Flac,
    Mp3,
    Ogg,
    Wav,
    Aiff,
    Mp4,
}

/// The codecs Megabox accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Codec {
    Flac,
    Mp3,
    Vorbis,
    Pcm,
    Aac,
    Alac,
}

/// The tags Megabox pre-fills a draft release from; every text is trimmed and at most
/// [`TAG_TEXT_CHARS_MAX`] characters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tags {
    pub title: Option<String>,
    pub artist: Option<String>,
    pub album: Option<String>,
    pub album_artist: Option<String>,
    pub track_number: Option<u32>,
    pub disc_number: Option<u32>,
    pub year: Option<u16>,
    pub genre: Option<String>,
    /// Normalised to 12 characters without hyphens, e.g. `USRC17607839`; dropped with a warning if invalid.
    pub isrc: Option<String>,
}

/// Embedded artwork, checked to be a real JPEG or PNG image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artwork {
    /// The image as embedded in the file.
    pub original: ArtworkImage,
    /// JPEG renditions for each of [`ARTWORK_SIZES_PIXELS`] smaller than the original, largest first.
    pub resized: Vec<ArtworkImage>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtworkImage {
    /// `image/jpeg` or `image/png`, from the image bytes themselves, not from the tag.
    pub mime_type: String,
    pub width_pixels: u32,
    pub height_pixels: u32,
    #[serde(with = "serde_base64")]
    pub bytes: Vec<u8>,
}

/// Shows the size of the image rather than its bytes, which would flood logs and test failures.
impl std::fmt::Debug for ArtworkImage {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ArtworkImage")
            .field("mime_type", &self.mime_type)
            .field("width_pixels", &self.width_pixels)
            .field("height_pixels", &self.height_pixels)
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .finish()
    }
}

/// EBU R128 measurements; `None` where the measure is minus infinity (digital silence).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Loudness {
    pub integrated_lufs: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
}

/// Peak amplitude (0 = silence, 255 = full scale) of [`WAVEFORM_BINS`] equal stretches of the track,
/// for the player to draw; fewer bins only when the track has fewer frames.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waveform {
    #[serde(with = "serde_base64")]
    pub peaks: Vec<u8>,
}

/// Why a file could not be analysed. Every message names what was found, for the artist.
///
/// It serializes so that the sandbox's child process can hand it to the server.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnalysisError {
    #[error("the file is empty")]
    Empty,
    #[error("could not read the file: {message}")]
    Io { message: String },
    #[error("unsupported format: {found}")]
    UnsupportedFormat { found: String },
    #[error("unsupported codec: {found}")]
    UnsupportedCodec { found: String },
    #[error("the file has no audio track")]
    NoAudioTrack,
    #[error("malformed audio: {reason}")]
    Malformed { reason: String },
    #[error(
        "truncated audio: the header declares {declared_frames} frames but only {decoded_frames} could be decoded"
    )]
    Truncated {
        declared_frames: u64,
        decoded_frames: u64,
    },
    #[error("{quantity} of {value} exceeds the limit of {max}")]
    LimitExceeded {
        quantity: String,
        value: u64,
        max: u64,
    },
    #[error("the file contains no audio")]
    NoAudio,
    #[error("the file could not be analysed: decoder crashed")]
    Crashed { detail: String },
    #[error("the file could not be analysed: it needed more than {limit_mib} MiB of memory")]
    OutOfMemory { limit_mib: u64 },
    #[error(
        "the file could not be analysed: it needed more than {limit_seconds} s of processor time"
    )]
    CpuTimeExceeded { limit_seconds: u64 },
    #[error("the file could not be analysed: timed out after {limit_seconds} s")]
    TimedOut { limit_seconds: u64 },
    #[error("the analysis process could not be run: {message}")]
    SandboxFailed { message: String },
}

impl AnalysisError {
    fn limit_exceeded(quantity: &str, value: u64, max: u64) -> Self {
        Self::LimitExceeded {
            quantity: quantity.to_owned(),
            value,
            max,
        }
    }

    fn io(error: &std::io::Error) -> Self {
        Self::Io {
            message: error.to_string(),
        }
    }
}

/// Analyses the audio file at `path` in this process. Servers call it through the sandbox.
pub fn analyze_file(path: &Path) -> Result<Analysis, AnalysisError> {
    analyze_file_with_limits(path, &AnalysisLimits::default())
}

/// [`analyze_file`] under other limits.
pub fn analyze_file_with_limits(
    path: &Path,
    limits: &AnalysisLimits,
) -> Result<Analysis, AnalysisError> {
    let size_bytes = std::fs::metadata(path)
        .map_err(|error| AnalysisError::io(&error))?
        .len();
    check_input_size(size_bytes, limits)?;
    let open = || File::open(path).map_err(|error| AnalysisError::io(&error));
    let mut head = Vec::new();
    open()?
        .take(sniff::HEAD_BYTES)
        .read_to_end(&mut head)
        .map_err(|error| AnalysisError::io(&error))?;
    let mut tail = Vec::new();
    let mut file = open()?;
    file.seek(SeekFrom::Start(
        size_bytes.saturating_sub(completeness::TAIL_BYTES),
    ))
    .and_then(|_| file.read_to_end(&mut tail))
    .map_err(|error| AnalysisError::io(&error))?;
    let input = Input {
        extension: path.extension().and_then(|extension| extension.to_str()),
        size_bytes,
        head: &head,
        tail: &tail,
    };
    analyze_input(&input, Box::new(open()?), open()?, limits)
}

/// Analyses audio held in memory: the entry point of the fuzz target.
pub fn analyze_bytes(bytes: &[u8]) -> Result<Analysis, AnalysisError> {
    let limits = AnalysisLimits::default();
    let size_bytes = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    check_input_size(size_bytes, &limits)?;
    let tail_start = bytes
        .len()
        .saturating_sub(usize::try_from(completeness::TAIL_BYTES).unwrap_or(usize::MAX));
    let input = Input {
        extension: None,
        size_bytes,
        head: bytes,
        tail: &bytes[tail_start..],
    };
    analyze_input(
        &input,
        Box::new(Cursor::new(bytes)),
        Cursor::new(bytes),
        &limits,
    )
}

/// What is known about the input before decoding: its name's extension (a hint), its size, and
/// its first and last bytes.
struct Input<'a> {
    extension: Option<&'a str>,
    size_bytes: u64,
    head: &'a [u8],
    tail: &'a [u8],
}

/// The analysis itself, over two independent readers of the same input: one for symphonia, one for lofty.
fn analyze_input<'s>(
    input: &Input<'_>,
    audio_source: Box<dyn MediaSource + 's>,
    tags_source: impl Read + Seek,
    limits: &AnalysisLimits,
) -> Result<Analysis, AnalysisError> {
    let audio = decode::decode(audio_source, input.extension, input.head, limits)?;
    completeness::check(audio.container, input.head, input.tail, input.size_bytes)?;
    let tags_and_artwork = tags::read_tags_and_artwork(tags_source);
    Ok(assemble(audio, tags_and_artwork))
}

fn check_input_size(size_bytes: u64, limits: &AnalysisLimits) -> Result<(), AnalysisError> {
    if size_bytes == 0 {
        return Err(AnalysisError::Empty);
    }
    if size_bytes > limits.input_bytes_max {
        return Err(AnalysisError::limit_exceeded(
            "file size in bytes",
            size_bytes,
            limits.input_bytes_max,
        ));
    }
    Ok(())
}

fn assemble(audio: decode::DecodedAudio, tags_and_artwork: tags::TagsAndArtwork) -> Analysis {
    let declared_bits_per_sample = if audio.is_lossless() {
        tags_and_artwork.declared_bits_per_sample
    } else {
        None
    };
    let mut warnings = audio.warnings;
    warnings.extend(tags_and_artwork.warnings);
    Analysis {
        container: audio.container,
        codec: audio.codec,
        sample_rate_hz: audio.sample_rate_hz,
        channels: audio.channels,
        bits_per_sample: audio.bits_per_sample.or(declared_bits_per_sample),
        frame_count: audio.frame_count,
        duration_ms: audio.duration_ms,
        tags: tags_and_artwork.tags,
        artwork: tags_and_artwork.artwork,
        loudness: audio.loudness,
        waveform: audio.waveform,
        audio_sha256: audio.audio_sha256,
        warnings,
    }
}
