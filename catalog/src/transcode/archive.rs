//! The ZIP a buyer downloads for a release: its tracks, numbered in order, and its artwork.
//! Audio is already compressed, so entries are stored, not deflated. Names come from titles the
//! artist typed, so every name is reduced to one harmless file name: no directories, no `..`,
//! nothing a file system or an unzip tool could read as a path, and no invisible format control
//! (a right-to-left override can make `3pm.exe` look like `exe.mp3`).

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

/// Unicode's format controls (general category Cf, Unicode 16), as inclusive ranges: bidirectional
/// embeddings, overrides and isolates, zero-width characters, the BOM, invisible operators, tags.
const FORMAT_CONTROLS: [(char, char); 21] = [
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

/// Whether `character` is a format control (general category Cf): invisible, and able to reorder
/// or hide what a person reads.
fn is_format_control(character: char) -> bool {
    FORMAT_CONTROLS
        .iter()
        .any(|(first, last)| (*first..=*last).contains(&character))
}

/// One safe file name: format controls (and the line and paragraph separators) dropped;
/// separators, control and reserved characters become `_`, runs of dots one dot, no dot or space
/// at either end, at most [`ENTRY_NAME_CHARS_MAX`] characters.
pub fn safe_file_name(name: &str) -> String {
    sanitize(name)
}

fn sanitize(name: &str) -> String {
    let mut safe: String = name
        .chars()
        .filter(|character| {
            !is_format_control(*character) && !matches!(character, '\u{2028}' | '\u{2029}')
        })
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
            ("Song\u{202E}3pm.exe", "Song3pm.exe"),
            (
                "\u{FEFF}zero\u{200B}width\u{2066}isolate\u{2069}\u{E0041}",
                "zerowidthisolate",
            ),
            ("\u{202D}\u{202C}", FALLBACK_NAME),
            ("line\u{2028}break", "linebreak"),
            ("عربي \u{0661}", "عربي \u{0661}"),
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
