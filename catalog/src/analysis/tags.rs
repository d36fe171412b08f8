//! Tags, embedded artwork and stream properties with lofty.
//!
//! Unreadable tags never refuse a file whose audio decodes: the artist gets a warning and fills in
//! the fields by hand. [`read_properties_and_tags`] is the fast path that decodes no audio.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::Path;

use lofty::config::{GlobalOptions, ParseOptions, apply_global_options};
use lofty::file::{FileType, TaggedFile};
use lofty::picture::{Picture, PictureType};
use lofty::prelude::*;
use lofty::probe::Probe;
use lofty::tag::Tag;
use serde::{Deserialize, Serialize};

use super::{AnalysisError, Artwork, Container, Tags, artwork};
use crate::fields::Isrc;

/// The most characters kept of one tag text; longer values are cut at this length.
pub const TAG_TEXT_CHARS_MAX: usize = 1024;

/// The read buffer of the tag scan: a typical tag block, or the headers of an MP3 frame or MP4 box.
const TAG_READ_BUFFER_BYTES: usize = 16 * 1024;

/// lofty refuses any single allocation above this while reading tags: the largest artwork accepted,
/// plus room for the rest of a tag.
const TAG_ALLOCATION_BYTES_MAX: usize = super::ARTWORK_BYTES_MAX + 1024 * 1024;

/// Stream properties as the container declares them, and the tags: what a library scan needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PropertiesAndTags {
    pub container: Container,
    pub sample_rate_hz: Option<u32>,
    pub channels: Option<u16>,
    pub bits_per_sample: Option<u32>,
    /// As declared by the headers (or estimated from the bitrate), not decoded.
    pub duration_ms: u64,
    pub audio_bitrate_kbps: Option<u32>,
    pub tags: Tags,
    pub warnings: Vec<String>,
}

/// Reads properties and tags without decoding audio or artwork.
pub fn read_properties_and_tags(path: &Path) -> Result<PropertiesAndTags, AnalysisError> {
    let file = File::open(path).map_err(|error| AnalysisError::io(&error))?;
    // lofty reads headers in many small pieces: buffering turns them into a few system calls.
    properties_and_tags(BufReader::with_capacity(TAG_READ_BUFFER_BYTES, file))
}

/// [`read_properties_and_tags`] on bytes in memory.
pub fn read_properties_and_tags_from_bytes(
    bytes: &[u8],
) -> Result<PropertiesAndTags, AnalysisError> {
    properties_and_tags(Cursor::new(bytes))
}

fn properties_and_tags<R: Read + Seek>(reader: R) -> Result<PropertiesAndTags, AnalysisError> {
    let tagged_file =
        read_tagged_file(reader, ParseOptions::new().read_cover_art(false)).map_err(|reason| {
            AnalysisError::UnsupportedFormat {
                found: format!("no readable audio container ({reason})"),
            }
        })?;
    let container = container_of(tagged_file.file_type())?;
    let properties = tagged_file.properties();
    let mut warnings = Vec::new();
    let tags = tagged_file
        .primary_tag()
        .or_else(|| tagged_file.first_tag())
        .map(|tag| tags_of(tag, &mut warnings))
        .unwrap_or_default();
    Ok(PropertiesAndTags {
        container,
        sample_rate_hz: properties.sample_rate(),
        channels: properties.channels().map(u16::from),
        bits_per_sample: properties.bit_depth().map(u32::from),
        duration_ms: u64::try_from(properties.duration().as_millis()).unwrap_or(u64::MAX),
        audio_bitrate_kbps: properties.audio_bitrate(),
        tags,
        warnings,
    })
}

/// Tags and artwork for a full analysis, with a warning for whatever could not be read.
pub(super) struct TagsAndArtwork {
    /// The bit depth the container declares, for codecs whose decoder does not report it (ALAC).
    pub declared_bits_per_sample: Option<u32>,
    pub tags: Tags,
    pub artwork: Option<Artwork>,
    pub warnings: Vec<String>,
}

pub(super) fn read_tags_and_artwork<R: Read + Seek>(reader: R) -> TagsAndArtwork {
    let mut warnings = Vec::new();
    let tagged_file = match read_tagged_file(reader, ParseOptions::new()) {
        Ok(tagged_file) => tagged_file,
        Err(reason) => {
            warnings.push(format!("tags could not be read: {reason}"));
            return TagsAndArtwork {
                declared_bits_per_sample: None,
                tags: Tags::default(),
                artwork: None,
                warnings,
            };
        }
    };
    let declared_bits_per_sample = tagged_file.properties().bit_depth().map(u32::from);
    let Some(tag) = tagged_file
        .primary_tag()
        .or_else(|| tagged_file.first_tag())
    else {
        return TagsAndArtwork {
            declared_bits_per_sample,
            tags: Tags::default(),
            artwork: None,
            warnings,
        };
    };
    let tags = tags_of(tag, &mut warnings);
    let artwork =
        cover_picture(&tagged_file).and_then(|picture| match artwork::process(picture.data()) {
            Ok(artwork) => Some(artwork),
            Err(reason) => {
                warnings.push(format!("artwork ignored: {reason}"));
                None
            }
        });
    TagsAndArtwork {
        declared_bits_per_sample,
        tags,
        artwork,
        warnings,
    }
}

fn read_tagged_file<R: Read + Seek>(
    reader: R,
    options: ParseOptions,
) -> Result<TaggedFile, String> {
    // lofty keeps its allocation limit per thread, so it is set on every call.
    apply_global_options(GlobalOptions::new().allocation_limit(TAG_ALLOCATION_BYTES_MAX));
    Probe::new(reader)
        .options(options)
        .guess_file_type()
        .map_err(|error| error.to_string())?
        .read()
        .map_err(|error| error.to_string())
}

fn container_of(file_type: FileType) -> Result<Container, AnalysisError> {
    match file_type {
        FileType::Flac => Ok(Container::Flac),
        FileType::Mpeg => Ok(Container::Mp3),
        FileType::Vorbis => Ok(Container::Ogg),
        FileType::Wav => Ok(Container::Wav),
        FileType::Aiff => Ok(Container::Aiff),
        FileType::Mp4 => Ok(Container::Mp4),
        other => Err(AnalysisError::UnsupportedFormat {
            found: format!("{other:?}"),
        }),
    }
}

/// The front cover if the file marks one, otherwise the first picture.
fn cover_picture(tagged_file: &TaggedFile) -> Option<&Picture> {
    let pictures: Vec<&Picture> = tagged_file
        .tags()
        .iter()
        .flat_map(|tag| tag.pictures())
        .collect();
    pictures
        .iter()
        .find(|picture| picture.pic_type() == PictureType::CoverFront)
        .or(pictures.first())
        .copied()
}

fn tags_of(tag: &Tag, warnings: &mut Vec<String>) -> Tags {
    let isrc = tag.get_string(ItemKey::Isrc).and_then(|raw| {
        let normalised = Isrc::parse(raw).ok().map(Isrc::into_string);
        if normalised.is_none() {
            warnings.push(format!(
                "ISRC ignored: {:?} is not a valid ISRC",
                bounded_text(raw)
            ));
        }
        normalised
    });
    Tags {
        title: tag.title().as_deref().and_then(clean_text),
        artist: tag.artist().as_deref().and_then(clean_text),
        album: tag.album().as_deref().and_then(clean_text),
        album_artist: tag.get_string(ItemKey::AlbumArtist).and_then(clean_text),
        track_number: tag.track(),
        disc_number: tag.disk(),
        year: tag.date().map(|date| date.year).filter(|year| *year > 0),
        genre: tag.genre().as_deref().and_then(clean_text),
        isrc,
    }
}

/// Trims the text, drops control characters and cuts it to [`TAG_TEXT_CHARS_MAX`]; `None` if nothing is left.
fn clean_text(raw: &str) -> Option<String> {
    let cleaned = bounded_text(raw);
    (!cleaned.is_empty()).then_some(cleaned)
}

fn bounded_text(raw: &str) -> String {
    let kept: String = raw
        .chars()
        .filter(|character| !character.is_control() || *character == ' ')
        .take(TAG_TEXT_CHARS_MAX)
        .collect();
    kept.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_stripped_of_control_characters_and_bounded() {
        assert_eq!(clean_text("  Title\u{0}\n "), Some("Title".to_owned()));
        assert_eq!(clean_text(" \t\r\n"), None);
        let long = "é".repeat(TAG_TEXT_CHARS_MAX * 3);
        assert_eq!(
            clean_text(&long).map(|text| text.chars().count()),
            Some(TAG_TEXT_CHARS_MAX)
        );
    }
}
