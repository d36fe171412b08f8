//! Access tokens: short-lived JWTs signed with HS256 under a key id (`kid`), so keys rotate
//! without logging anyone out. Verification pins the algorithm and checks `exp`, `iss`, `aud`
//! and that the `kid` is one of ours; anything else is rejected.

use std::collections::HashMap;
use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use megabox_domain::UserId;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::accounts::Role;

const ALGORITHM: Algorithm = Algorithm::HS256;
/// HS256 keys shorter than the hash output weaken it.
const SIGNING_KEY_BYTES_MIN: usize = crate::files::SECRET_KEY_BYTES_MIN;
const GENERATED_KEY_FILE: &str = "jwt-signing-key";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "MEGABOX_JWT_KEYS must be `kid=secret,…` with secrets of at least {SIGNING_KEY_BYTES_MIN} bytes"
    )]
    Malformed,
    #[error("cannot read or create the generated signing key: {0}")]
    Io(#[from] std::io::Error),
}

/// The keys that sign and verify access tokens.
pub struct TokenKeys {
    signing_kid: String,
    encoding_key: EncodingKey,
    decoding_keys: HashMap<String, DecodingKey>,
    issuer: String,
    audience: String,
    access_token_ttl_seconds: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub struct VerifiedToken {
    pub user_id: UserId,
    pub role: Role,
}

impl TokenKeys {
    /// Keys from `kid=secret,…` (the first signs); or, without configured keys, a random key
    /// generated once and kept in `data_dir`.
    pub fn load(
        configured: Option<&SecretString>,
        data_dir: &Path,
        issuer: String,
        audience: String,
        access_token_ttl_seconds: u64,
    ) -> Result<TokenKeys, KeyError> {
        let pairs: Vec<(String, Vec<u8>)> = match configured {
            Some(text) => parse_keys(text.expose_secret())?,
            None => vec![(
                "generated-1".to_owned(),
                crate::files::load_or_create_secret(&data_dir.join(GENERATED_KEY_FILE))?,
            )],
        };
        let (signing_kid, signing_secret) = pairs.first().ok_or(KeyError::Malformed)?;
        Ok(TokenKeys {
            signing_kid: signing_kid.clone(),
            encoding_key: EncodingKey::from_secret(signing_secret),
            decoding_keys: pairs
                .iter()
                .map(|(kid, secret)| (kid.clone(), DecodingKey::from_secret(secret)))
                .collect(),
            issuer,
            audience,
            access_token_ttl_seconds,
        })
    }

    pub fn access_token_ttl_seconds(&self) -> u64 {
        self.access_token_ttl_seconds
    }

    pub fn issue(
        &self,
        user_id: UserId,
        role: Role,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = unix_now();
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + self.access_token_ttl_seconds,
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding_key)
    }

    /// None for any token we did not issue, or that has expired.
    pub fn verify(&self, token: &str) -> Option<VerifiedToken> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != ALGORITHM {
            return None;
        }
        let key = self.decoding_keys.get(header.kid.as_deref()?)?;
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).ok()?;
        Some(VerifiedToken {
            user_id: data.claims.sub.parse().ok()?,
            role: data.claims.role,
        })
    }
}

fn parse_keys(text: &str) -> Result<Vec<(String, Vec<u8>)>, KeyError> {
    let pairs = text
        .split(',')
        .map(|pair| {
            let (kid, secret) = pair.trim().split_once('=').ok_or(KeyError::Malformed)?;
            if kid.is_empty() || secret.len() < SIGNING_KEY_BYTES_MIN {
                return Err(KeyError::Malformed);
            }
            Ok((kid.to_owned(), secret.as_bytes().to_vec()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if pairs.is_empty() {
        Err(KeyError::Malformed)
    } else {
        Ok(pairs)
    }
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(configured: &str) -> TokenKeys {
        let directory = tempfile::tempdir().unwrap();
        TokenKeys::load(
            Some(&SecretString::from(configured)),
            directory.path(),
            "megabox".into(),
            "megabox-api".into(),
            60,
        )
        .unwrap()
    }

    const OLD: &str = "old=0123456789abcdef0123456789abcdef";
    const NEW: &str = "new=fedcba9876543210fedcba9876543210";

    #[test]
    fn rotation_keeps_old_tokens_valid_until_the_old_key_is_removed() {
        let user = UserId::generate();
        let old_token = keys(OLD).issue(user, Role::Artist).unwrap();
        let rotated = keys(&format!("{NEW},{OLD}"));
        assert_eq!(
            rotated.verify(&old_token),
            Some(VerifiedToken {
                user_id: user,
                role: Role::Artist
            })
        );
        assert_eq!(keys(NEW).verify(&old_token), None, "unknown kid");
    }

    #[test]
    fn rejects_malformed_key_settings() {
        let directory = tempfile::tempdir().unwrap();
        for bad in [
            "",
            "nokey",
            "kid=short",
            "=0123456789abcdef0123456789abcdef",
        ] {
            let loaded = TokenKeys::load(
                Some(&SecretString::from(bad)),
                directory.path(),
                "i".into(),
                "a".into(),
                60,
            );
            assert!(loaded.is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_generated_key_survives_a_restart() {
        let directory = tempfile::tempdir().unwrap();
        let load = || TokenKeys::load(None, directory.path(), "i".into(), "a".into(), 60).unwrap();
        let token = load().issue(UserId::generate(), Role::Listener).unwrap();
        assert!(load().verify(&token).is_some());
    }
}
