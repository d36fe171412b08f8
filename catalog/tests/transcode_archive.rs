//! The release ZIP: tracks numbered in order under sanitised names (no directories, no `..`),
//! the artwork beside them, every entry stored byte for byte, and no archive at all on failure.

use std::io::Read;
use std::path::Path;

use catalog::transcode::{TranscodeError, partial_path, release_zip_entry_name, write_release_zip};

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn entry_names_are_numbered_and_sanitised() {
    let cases = [
        (1, "Opening", "mp3", "01 - Opening.mp3"),
        (12, "Sky/Sea", "flac", "12 - Sky_Sea.flac"),
        (3, "../../../etc/passwd", "mp3", "03 - _._._etc_passwd.mp3"),
        (4, "..", "mp3", "04 - untitled.mp3"),
        (5, "C:\\evil", "m4a", "05 - C__evil.m4a"),
        (6, "Title", "../mp3", "06 - Title._mp3"),
        (100, "Long", "wav", "100 - Long.wav"),
    ];
    for (position, title, extension, expected) in cases {
        let name = release_zip_entry_name(position, title, extension);
        assert_eq!(name, expected, "track {position} {title:?}");
        assert!(
            !name.contains('/') && !name.contains('\\') && !name.contains(".."),
            "{name:?}"
        );
    }
    let long = release_zip_entry_name(1, &"a".repeat(500), "flac");
    assert!(
        long.ends_with(".flac") && long.chars().count() < 120,
        "a long title is shortened, its extension kept: {long}"
    );
}

#[test]
fn the_archive_stores_each_file_under_its_safe_name() -> TestResult {
    let directory = tempfile::tempdir()?;
    let write = |name: &str, bytes: &[u8]| -> std::io::Result<std::path::PathBuf> {
        let path = directory.path().join(name);
        std::fs::write(&path, bytes)?;
        Ok(path)
    };
    let first = write("a.bin", &[1; 5000])?;
    let second = write("b.bin", &[2; 3000])?;
    let cover = write("c.bin", b"not really a jpeg")?;
    let entries = [
        (release_zip_entry_name(1, "First", "mp3"), first.as_path()),
        ("../../escape.mp3".to_owned(), second.as_path()),
    ];
    let output = directory.path().join("release.zip");
    write_release_zip(&entries, Some(("/abs/cover.jpg", cover.as_path())), &output)?;
    assert!(!partial_path(&output).exists());

    let mut archive = zip::ZipArchive::new(std::fs::File::open(&output)?)?;
    let expected = [
        ("01 - First.mp3", vec![1_u8; 5000]),
        ("_._escape.mp3", vec![2; 3000]),
        ("_abs_cover.jpg", b"not really a jpeg".to_vec()),
    ];
    assert_eq!(archive.len(), expected.len());
    for (index, (name, bytes)) in expected.iter().enumerate() {
        let mut entry = archive.by_index(index)?;
        assert_eq!(entry.name()?, *name);
        assert_eq!(
            entry.compression(),
            zip::CompressionMethod::Stored,
            "audio is stored, not deflated"
        );
        let mut content = Vec::new();
        entry.read_to_end(&mut content)?;
        assert_eq!(&content, bytes, "{name}");
    }
    Ok(())
}

#[test]
fn a_missing_file_leaves_no_archive() -> TestResult {
    let directory = tempfile::tempdir()?;
    let output = directory.path().join("release.zip");
    let entries = [(
        "01 - Gone.mp3".to_owned(),
        Path::new("/nonexistent/gone.mp3"),
    )];
    let result = write_release_zip(&entries, None, &output);
    assert!(
        matches!(result, Err(TranscodeError::Io { .. })),
        "{result:?}"
    );
    assert!(!output.exists() && !partial_path(&output).exists());
    Ok(())
}
