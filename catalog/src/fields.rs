//! Free-text fields and identifiers that artists type or that come from file tags, parsed once
//! with their limits so that stored values are always trimmed, bounded and printable.

use std::fmt;

use crate::error::CatalogError;

/// Longest artist name, in characters.
pub const NAME_CHARS_MAX: usize = 100;
/// Longest release or track title, in characters.
pub const TITLE_CHARS_MAX: usize = 200;
/// Longest artist biography, in characters.
pub const BIO_CHARS_MAX: usize = 5_000;
/// Longest credits text of a release or track, in characters.
pub const CREDITS_CHARS_MAX: usize = 5_000;

/// A required single-line text: trimmed, not empty, at most `chars_max` characters, no control
/// characters (they would break listings and exports).
pub(crate) fn required_line(
    field: &'static str,
    value: &str,
    chars_max: usize,
) -> Result<String, CatalogError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(CatalogError::invalid(field, "must not be empty"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(CatalogError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    bounded(field, trimmed, chars_max)
}

/// An optional multi-line text (biography, credits): trimmed, possibly empty, bounded; newlines
/// and tabs are allowed, other control characters are not.
pub(crate) fn free_text(
    field: &'static str,
    value: &str,
    chars_max: usize,
) -> Result<String, CatalogError> {
    let trimmed = value.trim();
    if trimmed
        .chars()
        .any(|character| character.is_control() && !matches!(character, '\n' | '\r' | '\t'))
    {
        return Err(CatalogError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    bounded(field, trimmed, chars_max)
}

fn bounded(field: &'static str, value: &str, chars_max: usize) -> Result<String, CatalogError> {
    let chars = value.chars().count();
    if chars > chars_max {
        return Err(CatalogError::invalid(
            field,
            format!("{chars} characters, at most {chars_max} allowed"),
        ));
    }
    Ok(value.to_owned())
}

/// An International Standard Recording Code: `CC-XXX-YY-NNNNN` (country, registrant, year,
/// designation), stored in its compact upper-case form `CCXXXYYNNNNN`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Isrc(String);

impl Isrc {
    /// Accepts the compact form, or one with hyphens or spaces between the parts, in any case:
    /// CC-XXX-YY-NNNNN is country (2 letters), registrant (3 alphanumerics), year (2 digits),
    /// designation (5 digits).
    pub fn parse(text: &str) -> Result<Isrc, CatalogError> {
        let compact: String = text
            .chars()
            .filter(|character| *character != '-' && *character != ' ')
            .collect::<String>()
            .to_ascii_uppercase();
        let bytes = compact.as_bytes();
        let well_formed = bytes.len() == 12
            && bytes[..2].iter().all(u8::is_ascii_uppercase)
            && bytes[2..5].iter().all(u8::is_ascii_alphanumeric)
            && bytes[5..].iter().all(u8::is_ascii_digit);
        if well_formed {
            Ok(Isrc(compact))
        } else {
            Err(CatalogError::invalid("isrc", "expected CC-XXX-YY-NNNNN"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Isrc {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isrc_accepts_both_forms_and_rejects_garbage() {
        let cases = [
            ("USRC17607839", Some("USRC17607839")),
            ("us-rc1-76-07839", Some("USRC17607839")),
            (" GBAYE0000351 ", Some("GBAYE0000351")),
            (" GB AYE 69 00531 ", Some("GBAYE6900531")),
            ("USRC17607839X", None),
            ("", None),
            ("USRC1760783", None),
            ("USRC176078390", None),
            ("1SRC17607839", None),
            ("USRC1760783X", None),
            ("US\u{0}C17607839", None),
            ("ÜSRC17607839", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Isrc::parse(input).ok().map(|isrc| isrc.0),
                expected.map(str::to_owned),
                "{input:?}"
            );
        }
    }

    #[test]
    fn lines_are_trimmed_bounded_and_printable() {
        assert_eq!(
            required_line("title", "  Blue  ", 10).ok(),
            Some("Blue".to_owned())
        );
        assert_eq!(
            required_line("title", &"é".repeat(10), 10).ok(),
            Some("é".repeat(10))
        );
        for rejected in ["", "   ", "a\u{7}b", "line\nbreak", &"x".repeat(11)] {
            assert!(
                required_line("title", rejected, 10).is_err(),
                "{rejected:?}"
            );
        }
        assert_eq!(
            free_text("bio", "one\ntwo\t", 20).ok(),
            Some("one\ntwo".to_owned())
        );
        assert_eq!(free_text("bio", "", 20).ok(), Some(String::new()));
        assert!(free_text("bio", "bell\u{7}", 20).is_err());
    }
}
