//! Names what a file that is not audio actually is, from its first bytes, so that the refusal
//! says "unsupported format: PNG image" rather than only "unsupported format".

/// How many leading bytes [`describe`] looks at.
pub(super) const HEAD_BYTES: u64 = 512;

/// Signatures at the start of common non-audio (or unsupported audio) files.
const SIGNATURES: &[(&[u8], &str)] = &[
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF8", "GIF image"),
    (b"%PDF", "PDF document"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!", "RAR archive"),
    (b"\x7fELF", "executable (ELF)"),
    (b"MZ", "executable (Windows)"),
    (b"\x1a\x45\xdf\xa3", "Matroska or WebM"),
    (b"MThd", "MIDI file"),
    (b"wvpk", "WavPack audio"),
    (b"MAC ", "Monkey's Audio"),
    (b"OggS", "damaged or unsupported Ogg stream"),
    (b"fLaC", "damaged FLAC"),
    (b"RIFF", "damaged or unsupported RIFF file"),
    (b"FORM", "damaged or unsupported IFF file"),
    (b"ID3", "ID3 tag without decodable MP3 audio"),
];

/// A short human description of what `head` looks like.
pub(super) fn describe(head: &[u8]) -> String {
    if let Some((_, name)) = SIGNATURES
        .iter()
        .find(|(signature, _)| head.starts_with(signature))
    {
        return (*name).to_owned();
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return "damaged or unsupported MP4 file".to_owned();
    }
    if looks_like_text(head) {
        return "text file".to_owned();
    }
    "unrecognised data".to_owned()
}

fn looks_like_text(head: &[u8]) -> bool {
    // A cut may split the last UTF-8 character, so only the longest valid prefix is checked.
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(error) => std::str::from_utf8(&head[..error.valid_up_to()]).unwrap_or_default(),
    };
    !valid.is_empty()
        && head.len() - valid.len() < 4
        && valid
            .chars()
            .all(|character| !character.is_control() || character.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn names_common_files() {
        let cases: &[(&[u8], &str)] = &[
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "PNG image"),
            (b"\xff\xd8\xff\xe0\0\x10JFIF", "JPEG image"),
            (b"%PDF-1.7\n", "PDF document"),
            (
                b"\0\0\0\x20ftypM4A \0\0\0\0",
                "damaged or unsupported MP4 file",
            ),
            (b"hello, this is\na text file\n", "text file"),
            ("caf\u{e9} cr\u{e8}me".as_bytes(), "text file"),
            (b"\x01\x02\x03\x04\xfe\xfe", "unrecognised data"),
            (b"", "unrecognised data"),
        ];
        for (head, expected) in cases {
            assert_eq!(describe(head), *expected, "head {head:?}");
        }
    }
}
