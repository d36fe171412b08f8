//! Password hashing with Argon2id at OWASP's recommended parameters
//! (19 MiB of memory, 2 iterations, 1 lane). Hashing is slow on purpose: call it off the
//! async executor (`web::block`).

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::ExposeSecret;

use crate::accounts::Password;

const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

fn hasher() -> Result<Argon2<'static>, argon2::Error> {
    Ok(Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(MEMORY_KIB, ITERATIONS, LANES, None)?,
    ))
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

pub fn hash_password(password: &Password) -> Result<String, HashError> {
    let hasher = hasher().map_err(|error| HashError(error.to_string()))?;
    hasher
        .hash_password(password.secret().expose_secret().as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|error| HashError(error.to_string()))
}

/// A hash of a random password, verified against when the account does not exist, so that a
/// login for an unknown email takes as long as one for a known email.
static DECOY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let decoy = Password::parse(secrecy::SecretString::from(
        uuid::Uuid::new_v4().to_string(),
    ))
    .ok()?;
    hash_password(&decoy).ok()
});

/// True when `candidate` matches `stored_hash`. With no stored hash, spends the same time and
/// returns false.
pub fn verify_password(candidate: &str, stored_hash: Option<&str>) -> bool {
    let Ok(hasher) = hasher() else { return false };
    match stored_hash {
        Some(hash) => hasher.verify_password(candidate.as_bytes(), hash).is_ok(),
        None => {
            if let Some(decoy) = DECOY_HASH.as_deref() {
                let _ = hasher.verify_password(candidate.as_bytes(), decoy);
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let password = Password::parse("correct horse battery".to_owned().into()).unwrap();
        let hash = hash_password(&password).unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery", Some(&hash)));
        assert!(!verify_password("correct horse batterY", Some(&hash)));
        assert!(!verify_password("correct horse battery", None));
        assert!(!verify_password("anything", Some("not a hash")));
    }
}
