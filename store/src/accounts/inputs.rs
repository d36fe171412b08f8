//! Parsed account inputs. Each type can only be built through `parse`, so a value of it is valid.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

const EMAIL_LENGTH_MAX: usize = 254;
const PASSWORD_CHARACTERS_MIN: usize = 10;
/// Argon2 hashes any length, but a cap keeps a hostile request from costing much.
const PASSWORD_BYTES_MAX: usize = 256;
const DISPLAY_NAME_CHARACTERS_MAX: usize = 80;

/// Passwords too common to allow whatever their length.
const COMMON_PASSWORDS: &[&str] = &[
    "1234567890",
    "12345678910",
    "0123456789",
    "password123",
    "password1234",
    "qwertyuiop",
    "1q2w3e4r5t",
    "iloveyou123",
    "abcdefghij",
    "aaaaaaaaaa",
    "passwordpassword",
    "letmein123",
    "qwerty12345",
    "123456789a",
    "megabox123",
    "administrator",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("invalid email address")]
    InvalidEmail,
    #[error("the password must be at least {PASSWORD_CHARACTERS_MIN} characters")]
    PasswordTooShort,
    #[error("the password must be at most {PASSWORD_BYTES_MAX} bytes")]
    PasswordTooLong,
    #[error("the password is too common")]
    PasswordTooCommon,
    #[error("the display name must be 1 to {DISPLAY_NAME_CHARACTERS_MAX} printable characters")]
    InvalidDisplayName,
}

/// A normalised (trimmed, lower-case) email address.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Email, InputError> {
        let normalised = text.trim().to_lowercase();
        let valid = normalised.len() <= EMAIL_LENGTH_MAX
            && !normalised
                .chars()
                .any(|character| character.is_whitespace() || character.is_control())
            && match normalised.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !domain.contains("..")
                }
                None => false,
            };
        if valid {
            Ok(Email(normalised))
        } else {
            Err(InputError::InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Emails are personal data: logs show only the domain.
        let domain = self.0.split_once('@').map_or("", |(_, domain)| domain);
        write!(formatter, "Email(…@{domain})")
    }
}

/// A password that meets the policy. Kept secret: never printed.
pub struct Password(SecretString);

impl Password {
    pub fn parse(text: SecretString) -> Result<Password, InputError> {
        let exposed = text.expose_secret();
        if exposed.len() > PASSWORD_BYTES_MAX {
            return Err(InputError::PasswordTooLong);
        }
        if exposed.chars().count() < PASSWORD_CHARACTERS_MIN {
            return Err(InputError::PasswordTooShort);
        }
        let lowered = exposed.to_lowercase();
        let one_repeated_character = lowered
            .chars()
            .all(|character| lowered.starts_with(character));
        if one_repeated_character || COMMON_PASSWORDS.contains(&lowered.as_str()) {
            return Err(InputError::PasswordTooCommon);
        }
        Ok(Password(text))
    }

    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

/// The public name of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(text: &str) -> Result<DisplayName, InputError> {
        let trimmed = text.trim();
        let length = trimmed.chars().count();
        if length == 0
            || length > DISPLAY_NAME_CHARACTERS_MAX
            || trimmed.chars().any(char::is_control)
        {
            return Err(InputError::InvalidDisplayName);
        }
        Ok(DisplayName(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        let cases = [
            ("Ada@Example.COM ", Ok("ada@example.com")),
            ("a@b.co", Ok("a@b.co")),
            ("", Err(InputError::InvalidEmail)),
            ("no-at-sign", Err(InputError::InvalidEmail)),
            ("two@@example.com", Err(InputError::InvalidEmail)),
            ("@example.com", Err(InputError::InvalidEmail)),
            ("a@localhost", Err(InputError::InvalidEmail)),
            ("a b@example.com", Err(InputError::InvalidEmail)),
            ("a@example..com", Err(InputError::InvalidEmail)),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Email::parse(input).map(|email| email.as_str().to_owned()),
                expected.map(str::to_owned),
                "{input:?}"
            );
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn passwords() {
        let cases = [
            ("correct horse battery", Ok(())),
            ("short", Err(InputError::PasswordTooShort)),
            ("aaaaaaaaaaaa", Err(InputError::PasswordTooCommon)),
            ("Password123", Err(InputError::PasswordTooCommon)),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Password::parse(SecretString::from(input)).map(|_| ()),
                expected,
                "{input:?}"
            );
        }
        assert_eq!(
            Password::parse(SecretString::from("x".repeat(300))).map(|_| ()),
            Err(InputError::PasswordTooLong)
        );
    }

    #[test]
    fn display_names() {
        assert_eq!(
            DisplayName::parse("  Ada  ").map(|name| name.as_str().to_owned()),
            Ok("Ada".to_owned())
        );
        for bad in ["", "   ", "tab\tname", &"x".repeat(81)] {
            assert_eq!(
                DisplayName::parse(bad),
                Err(InputError::InvalidDisplayName),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_output_hides_personal_data() {
        let email = Email::parse("ada@example.com").unwrap();
        assert_eq!(format!("{email:?}"), "Email(…@example.com)");
    }
}
