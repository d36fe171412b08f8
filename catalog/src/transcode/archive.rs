//! The ZIP a buyer downloads for a release: its tracks, numbered in order, and its artwork.
//! Audio is already compressed, so entries are stored, not deflated. Names come from titles the
//! artist typed, so every name is reduced to one harmless file name: no directories, no `..`,
//! nothing a file system or an unzip tool could read as a path.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::{TranscodeError, partial_path};

/// The most characters of a title kept in an entry name; long enough to recognise any title.
const TITLE_CHARS_MAX: usize = 100;
/// The most characters of any entry name.
const ENTRY_NAME_CHARS_MAX: usize = 150;
/// The name of an entry whose name was nothing but unsafe characters.
const FALLBACK_NAME: &str = "untitled";
/// Entries this large or larger need ZIP64 records (the 32-bit size fields hold at most this).
const ZIP32_BYTES_MAX: u64 = 0xFFFF_FFFF;

/// The entry name of the track at `position` (from 1): `01 - Title.mp3`.
pub fn release_zip_entry_name(position: u32, title: &str, extension: &str) -> String {
    let title: String = sanitize(title).chars().take(TITLE_CHARS_MAX).collect();
    sanitize(&format!("{position:02} - {title}.{}", sanitize(extension)))
}

/// Writes a ZIP of `entries` (name in the archive, file to copy) and the optional `artwork`
/// (name, file) to `output`, replacing it; the archive appears complete or not at all. Every
/// name is sanitised again here, so a caller cannot smuggle a path in.
pub fn write_release_zip(
    entries: &[(String, &Path)],
    artwork: Option<(&str, &Path)>,
    output: &Path,
) -> Result<(), TranscodeError> {
    let partial = partial_path(output);
    let result = write_archive(entries, artwork, &partial)
        .and_then(|()| fs::rename(&partial, output).map_err(|error| TranscodeError::io(&error)));
    if result.is_err() {
        // Nothing may be left behind; a missing file is fine.
        let _ = fs::remove_file(&partial);
    }
    result
}

fn write_archive(
    entries: &[(String, &Path)],
    artwork: Option<(&str, &Path)>,
    partial: &Path,
) -> Result<(), TranscodeError> {
    let file = File::create(partial).map_err(|error| TranscodeError::io(&error))?;
    let mut archive = ZipWriter::new(BufWriter::new(file));
    let all = entries
        .iter()
        .map(|(name, path)| (name.as_str(), *path))
        .chain(artwork);
    for (name, path) in all {
        let mut source = File::open(path).map_err(|error| TranscodeError::io(&error))?;
        let size_bytes = source
            .metadata()
            .map_err(|error| TranscodeError::io(&error))?
            .len();
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(size_bytes >= ZIP32_BYTES_MAX);
        archive.start_file(sanitize(name), options)?;
        std::io::copy(&mut source, &mut archive).map_err(|error| TranscodeError::io(&error))?;
    }
    let mut writer = archive.finish()?;
    writer.flush().map_err(|error| TranscodeError::io(&error))?;
    let file = writer
        .into_inner()
        .map_err(|error| TranscodeError::io(error.error()))?;
    file.sync_all().map_err(|error| TranscodeError::io(&error))
}

/// One safe file name: separators, control and reserved characters become `_`, runs of dots one
/// dot, no dot or space at either end, at most [`ENTRY_NAME_CHARS_MAX`] characters.
fn sanitize(name: &str) -> String {
    let mut safe: String = name
        .chars()
        .map(|character| {
            if character.is_control()
                || matches!(
                    character,
                    '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|'
                )
            {
                '_'
            } else {
                character
            }
        })
        .collect();
    while safe.contains("..") {
        safe = safe.replace("..", ".");
    }
    let safe: String = safe
        .trim_matches(|character: char| character == '.' || character.is_whitespace())
        .chars()
        .take(ENTRY_NAME_CHARS_MAX)
        .collect();
    if safe.is_empty() {
        FALLBACK_NAME.to_owned()
    } else {
        safe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_single_harmless_file_names() {
        let cases = [
            ("Song", "Song"),
            ("../../etc/passwd", "_._etc_passwd"),
            ("..", FALLBACK_NAME),
            ("a/b\\c", "a_b_c"),
            ("C:\\Windows\\x", "C__Windows_x"),
            ("  .hidden.  ", "hidden"),
            ("tab\tnew\nline\0", "tab_new_line_"),
            ("Ünïcödé — ok", "Ünïcödé — ok"),
            ("", FALLBACK_NAME),
        ];
        for (name, expected) in cases {
            assert_eq!(sanitize(name), expected, "name {name:?}");
        }
        assert_eq!(
            sanitize(&"x".repeat(1000)).chars().count(),
            ENTRY_NAME_CHARS_MAX
        );
    }
}
