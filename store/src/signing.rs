//! Signed, expiring links: stream and download URLs that an `<audio>` element or a browser
//! download can use without an Authorization header. A link names what it grants (purpose and
//! path), to whom, and until when, under an HMAC-SHA256 of the server's key: changing any part
//! breaks the signature (403), and an expired link is gone (410).

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::error::ApiError;

const KEY_FILE: &str = "url-signing-key";

/// The query string a signed link carries.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LinkSignature {
    /// The account the link was issued to.
    pub sub: String,
    /// Unix seconds after which the link is gone.
    pub expires: u64,
    /// Hex HMAC-SHA256 over purpose, path, subject and expiry.
    pub sig: String,
}

pub struct LinkSigner {
    key: Vec<u8>,
}

impl LinkSigner {
    /// The key generated once into `data_dir` (several servers must share the data directory's
    /// key, or sign with the same configured JWT keys; see README).
    pub fn load(data_dir: &std::path::Path) -> std::io::Result<LinkSigner> {
        Ok(LinkSigner {
            key: crate::files::load_or_create_secret(&data_dir.join(KEY_FILE))?,
        })
    }

    fn mac(&self, purpose: &str, path: &str, subject: &str, expires: u64) -> Hmac<Sha256> {
        #[allow(clippy::expect_used, reason = "HMAC accepts keys of any length")]
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        for part in [
            "megabox-link-v1",
            purpose,
            path,
            subject,
            &expires.to_string(),
        ] {
            mac.update(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// `path?sub=…&expires=…&sig=…`, valid for `ttl_seconds`.
    pub fn sign(
        &self,
        purpose: &str,
        path: &str,
        subject: &str,
        ttl_seconds: u64,
    ) -> (String, u64) {
        let expires = crate::auth::tokens::unix_now() + ttl_seconds;
        let signature = hex::encode(
            self.mac(purpose, path, subject, expires)
                .finalize()
                .into_bytes(),
        );
        (
            format!("{path}?sub={subject}&expires={expires}&sig={signature}"),
            expires,
        )
    }

    /// Checks a link presented for `purpose` and `path`; returns its subject.
    pub fn verify<'a>(
        &self,
        purpose: &str,
        path: &str,
        link: &'a LinkSignature,
    ) -> Result<&'a str, ApiError> {
        let forged = || ApiError::forbidden("this link is not valid");
        let signature = hex::decode(&link.sig).map_err(|_| forged())?;
        self.mac(purpose, path, &link.sub, link.expires)
            .verify_slice(&signature)
            .map_err(|_| forged())?;
        if link.expires < crate::auth::tokens::unix_now() {
            return Err(ApiError::new(
                actix_web::http::StatusCode::GONE,
                "link_expired",
                "this link has expired; ask for a new one",
            ));
        }
        Ok(&link.sub)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(link: &str) -> LinkSignature {
        let query = link.split_once('?').unwrap().1;
        let value = |name: &str| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                .unwrap()
                .to_owned()
        };
        LinkSignature {
            sub: value("sub"),
            expires: value("expires").parse().unwrap(),
            sig: value("sig"),
        }
    }

    #[test]
    fn a_link_verifies_only_for_what_it_was_signed_for() {
        let directory = tempfile::tempdir().unwrap();
        let signer = LinkSigner::load(directory.path()).unwrap();
        let (link, _) = signer.sign("stream", "/api/v1/tracks/t1/stream", "user-1", 60);
        let signature = parse(&link);
        assert_eq!(
            signer
                .verify("stream", "/api/v1/tracks/t1/stream", &signature)
                .unwrap(),
            "user-1"
        );
        assert!(
            signer
                .verify("download", "/api/v1/tracks/t1/stream", &signature)
                .is_err(),
            "other purpose"
        );
        assert!(
            signer
                .verify("stream", "/api/v1/tracks/t2/stream", &signature)
                .is_err(),
            "other path"
        );
        let other_user = LinkSignature {
            sub: "user-2".to_owned(),
            ..parse(&link)
        };
        assert!(
            signer
                .verify("stream", "/api/v1/tracks/t1/stream", &other_user)
                .is_err(),
            "other subject"
        );
        let extended = LinkSignature {
            expires: signature.expires + 3600,
            ..parse(&link)
        };
        assert!(
            signer
                .verify("stream", "/api/v1/tracks/t1/stream", &extended)
                .is_err(),
            "extended expiry"
        );
        let other_server = LinkSigner::load(tempfile::tempdir().unwrap().path()).unwrap();
        assert!(
            other_server
                .verify("stream", "/api/v1/tracks/t1/stream", &signature)
                .is_err(),
            "other key"
        );
    }

    #[test]
    fn an_expired_link_is_gone() {
        let directory = tempfile::tempdir().unwrap();
        let signer = LinkSigner::load(directory.path()).unwrap();
        let expires = crate::auth::tokens::unix_now() - 1;
        let signature = hex::encode(
            signer
                .mac("stream", "/p", "u", expires)
                .finalize()
                .into_bytes(),
        );
        let link = LinkSignature {
            sub: "u".to_owned(),
            expires,
            sig: signature,
        };
        assert_eq!(
            signer.verify("stream", "/p", &link).unwrap_err().code(),
            "link_expired"
        );
    }
}
