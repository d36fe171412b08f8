//! Transcoding of stored audio for downloads and previews: FLAC (from lossless sources only),
//! MP3 at 320 kbps or V0, and a 30-second MP3 preview; their cache in the `transcodes` table; and
//! the release ZIP a buyer downloads.
//!
//! Transcoding decodes artist-supplied files with the same decoders as the analysis, so the
//! server runs it through [`TranscodeSandbox`] in a child process, never in its own.
//! Every output is written to a temporary file next to its destination and renamed into place
//! when complete, so a reader never sees half a file.

mod archive;
pub(crate) mod cache;
mod decode;
mod flac;
mod mp3;
mod preview;
mod sandbox;

use std::fmt;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::storage::StorageError;

pub use archive::{release_zip_entry_name, safe_file_name, write_release_zip};
pub use cache::{
    TRANSCODE_BYTES_MAX, delete_transcodes_of_media, ensure_transcode, take_transcodes_of_media,
};
pub use preview::{PREVIEW_DURATION_MS, PREVIEW_FADE_MS};
pub use sandbox::{
    TRANSCODE_CPU_SECONDS_DEFAULT, TRANSCODE_WALL_CLOCK_SECONDS_DEFAULT, TranscodeSandbox,
    child_main, default_transcode_limits,
};

/// What a listener can download, and the preview anyone can play.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// The file as the artist uploaded it.
    Original,
    /// Lossless, at the source's bit depth; only from lossless sources.
    Flac,
    /// MP3, constant 320 kbps.
    Mp3_320,
    /// MP3, LAME's best variable bitrate (V0).
    Mp3V0,
    /// A 30-second MP3 excerpt at 128 kbps for the storefront.
    Preview,
}

impl Format {
    /// The formats a buyer may choose, in the order a download menu shows them.
    pub const DOWNLOADS: [Format; 4] = [
        Format::Original,
        Format::Flac,
        Format::Mp3_320,
        Format::Mp3V0,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Original => "original",
            Format::Flac => "flac",
            Format::Mp3_320 => "mp3-320",
            Format::Mp3V0 => "mp3-v0",
            Format::Preview => "preview",
        }
    }

    /// Parses a buyer's choice: one of [`Format::DOWNLOADS`], never the preview.
    pub fn parse_download(text: &str) -> Result<Format, TranscodeError> {
        Format::DOWNLOADS
            .into_iter()
            .find(|format| format.as_str() == text)
            .ok_or_else(|| TranscodeError::UnknownFormat {
                found: text.chars().take(40).collect(),
            })
    }

    /// The file name extension, without the dot; an original keeps its container's.
    pub fn file_extension(self, source_container: &str) -> &'static str {
        match self {
            Format::Original => original_type(source_container).0,
            Format::Flac => "flac",
            Format::Mp3_320 | Format::Mp3V0 | Format::Preview => "mp3",
        }
    }

    /// The MIME type to serve the file with; an original has its container's.
    pub fn mime_type(self, source_container: &str) -> &'static str {
        match self {
            Format::Original => original_type(source_container).1,
            Format::Flac => "audio/flac",
            Format::Mp3_320 | Format::Mp3V0 | Format::Preview => "audio/mpeg",
        }
    }

    /// Whether this format can be made from a source of `source_codec` (as stored from
    /// `crate::analysis::Codec`): FLAC only from lossless codecs, since re-encoding lossy audio
    /// as FLAC only makes it larger; everything else from any source.
    pub fn is_available_for(self, source_codec: &str) -> bool {
        self != Format::Flac || matches!(source_codec, "flac" | "pcm" | "alac")
    }
}

/// Extension and MIME type of each container the analysis accepts (`crate::analysis::Container`).
fn original_type(container: &str) -> (&'static str, &'static str) {
    match container {
        "flac" => ("flac", "audio/flac"),
        "mp3" => ("mp3", "audio/mpeg"),
        "ogg" => ("ogg", "audio/ogg"),
        "wav" => ("wav", "audio/wav"),
        "aiff" => ("aiff", "audio/aiff"),
        "mp4" => ("m4a", "audio/mp4"),
        _ => ("bin", "application/octet-stream"),
    }
}

impl fmt::Display for Format {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Parses every format, the preview included (the sandbox's child takes it as an argument).
impl FromStr for Format {
    type Err = TranscodeError;

    fn from_str(text: &str) -> Result<Format, TranscodeError> {
        if text == Format::Preview.as_str() {
            return Ok(Format::Preview);
        }
        Format::parse_download(text)
    }
}

/// Why a transcode could not be made. The variants up to `SandboxFailed` cross from the child
/// process as JSON; the last ones only happen in the server.
#[derive(Debug, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TranscodeError {
    #[error("unknown format {found:?}: expected one of original, flac, mp3-320, mp3-v0")]
    UnknownFormat { found: String },
    #[error("FLAC is only made from lossless sources, and this track's source is {codec}")]
    LossySource { codec: String },
    #[error("the source audio cannot be decoded: {reason}")]
    Unreadable { reason: String },
    #[error("{quantity} of {value} exceeds the limit of {max}")]
    LimitExceeded {
        quantity: String,
        value: u64,
        max: u64,
    },
    #[error("encoding failed: {reason}")]
    Encode { reason: String },
    #[error("could not read or write a file: {message}")]
    Io { message: String },
    #[error("the file could not be transcoded: decoder crashed ({detail})")]
    Crashed { detail: String },
    #[error("the file could not be transcoded: it needed more than {limit_mib} MiB of memory")]
    OutOfMemory { limit_mib: u64 },
    #[error(
        "the file could not be transcoded: it needed more than {limit_seconds} s of processor time"
    )]
    CpuTimeExceeded { limit_seconds: u64 },
    #[error("the file could not be transcoded: timed out after {limit_seconds} s")]
    TimedOut { limit_seconds: u64 },
    #[error("the transcoding process could not be run: {message}")]
    SandboxFailed { message: String },
    #[error("the track's media file no longer exists")]
    MediaNotFound,
    #[serde(skip)]
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[serde(skip)]
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[serde(skip)]
    #[error("could not write the archive: {0}")]
    Archive(#[from] zip::result::ZipError),
}

impl TranscodeError {
    fn io(error: &std::io::Error) -> Self {
        Self::Io {
            message: error.to_string(),
        }
    }

    fn encode(reason: impl fmt::Display) -> Self {
        Self::Encode {
            reason: reason.to_string(),
        }
    }
}

/// For catalog code that removes media inside its own transaction ([`take_transcodes_of_media`]):
/// database and storage errors keep their kind; nothing else happens there.
impl From<TranscodeError> for crate::CatalogError {
    fn from(error: TranscodeError) -> Self {
        match error {
            TranscodeError::Database(error) => crate::CatalogError::Database(error),
            TranscodeError::Storage(error) => crate::CatalogError::Storage(error),
            other => crate::CatalogError::Corrupt(other.to_string()),
        }
    }
}

/// Transcodes `input` into `output` in this process. Servers call it through the sandbox.
///
/// `Original` is a plain copy. The output appears complete or not at all: it is written to
/// [`partial_path`] of `output` and renamed when complete.
pub fn transcode_file(input: &Path, output: &Path, format: Format) -> Result<(), TranscodeError> {
    let partial = partial_path(output);
    let result = write_transcode(input, &partial, format)
        .and_then(|()| fs::rename(&partial, output).map_err(|error| TranscodeError::io(&error)));
    if result.is_err() {
        // Nothing may be left behind; a missing file is fine.
        let _ = fs::remove_file(&partial);
    }
    result
}

/// Where an output is written before it is renamed into place: beside it, so the rename is atomic.
pub fn partial_path(output: &Path) -> PathBuf {
    let mut name = output
        .file_name()
        .map(ToOwned::to_owned)
        .unwrap_or_default();
    name.push(".partial");
    output.with_file_name(name)
}

fn write_transcode(input: &Path, partial: &Path, format: Format) -> Result<(), TranscodeError> {
    let file = File::create(partial).map_err(|error| TranscodeError::io(&error))?;
    let mut writer = BufWriter::new(file);
    let open = || decode::DecodedSource::open(input);
    match format {
        Format::Original => {
            let mut source = File::open(input).map_err(|error| TranscodeError::io(&error))?;
            std::io::copy(&mut source, &mut writer).map_err(|error| TranscodeError::io(&error))?;
        }
        Format::Flac => flac::encode(open()?, &mut writer)?,
        Format::Mp3_320 => mp3::encode(open()?, &mut writer, mp3::Mp3Settings::CBR_320, None)?,
        Format::Mp3V0 => mp3::encode(open()?, &mut writer, mp3::Mp3Settings::VBR_V0, None)?,
        Format::Preview => {
            let source = open()?;
            let total_frames = match source.declared_frames {
                Some(frames) => frames,
                None => decode::count_frames(input)?,
            };
            let clip = preview::Clip::of_track(total_frames, source.sample_rate_hz);
            mp3::encode(source, &mut writer, mp3::Mp3Settings::PREVIEW, Some(clip))?;
        }
    }
    writer.flush().map_err(|error| TranscodeError::io(&error))?;
    let file = writer
        .into_inner()
        .map_err(|error| TranscodeError::io(error.error()))?;
    file.sync_all().map_err(|error| TranscodeError::io(&error))
}
