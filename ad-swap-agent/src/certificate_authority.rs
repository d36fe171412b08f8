//! The per-install local CA and the TLS configuration on both sides of the proxy.
//!
//! Three guarantees live here:
//! * the CA is generated on this machine, with X.509 name constraints that permit only the
//!   allow-listed domains and exclude every IP address, and an extended key usage of TLS server
//!   authentication only, so even a stolen CA key cannot be used to impersonate any other site or
//!   to sign code or mail;
//! * [`AllowListedAuthority`] refuses to mint a certificate for a host outside the allow-list
//!   (and records what it minted, which the tests check);
//! * upstream connections verify certificates against real roots (webpki-roots), TLS 1.2+ only.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use hudsucker::certificate_authority::{CertificateAuthority, RcgenAuthority};
use hudsucker::hyper::Uri;
use hudsucker::hyper::http::uri::Authority;
use hudsucker::hyper_util::client::legacy::connect::HttpConnector;
use hudsucker::rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints,
};
use hudsucker::rustls::pki_types::CertificateDer;
use hudsucker::rustls::pki_types::pem::PemObject as _;
use hudsucker::rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::settings::AllowList;

/// How many minted leaf configurations the proxy keeps in memory.
const LEAF_CACHE_ENTRIES_MAX: u64 = 256;

/// Lifetime of the local CA.
const CA_VALIDITY_YEARS: i32 = 5;

/// Host name used when asked for a host outside the allow-list: `.invalid` can never resolve and
/// is outside the CA's name constraints, so the resulting handshake always fails.
const REFUSED_HOST: &str = "refused.megabox-agent.invalid";

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("the local CA is unreadable: {0}")]
    Certificate(#[from] hudsucker::rcgen::Error),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] hudsucker::rustls::Error),
    #[error("{path}: no usable PEM certificate")]
    ExtraRoots { path: String },
}

fn current_year() -> i32 {
    const SECONDS_PER_YEAR: u64 = 31_556_952;
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    1970 + i32::try_from(seconds / SECONDS_PER_YEAR).unwrap_or(0)
}

/// Creates a new CA key and certificate (PEM) constrained to `allow_list`.
pub fn generate(allow_list: &AllowList) -> Result<(String, String), hudsucker::rcgen::Error> {
    let key_pair = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(
        DnType::CommonName,
        "Megabox agent local CA (this computer only)",
    );
    name.push(DnType::OrganizationName, "Megabox agent");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    // Only for TLS servers: verifiers that chain extended key usage (browsers, NSS) then refuse
    // anything this CA could sign for code signing, S/MIME or client authentication.
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let year = current_year();
    params.not_before = hudsucker::rcgen::date_time_ymd(year - 1, 1, 1);
    params.not_after = hudsucker::rcgen::date_time_ymd(year + CA_VALIDITY_YEARS, 1, 1);
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: allow_list
            .domains()
            .iter()
            .cloned()
            .map(GeneralSubtree::DnsName)
            .collect(),
        excluded_subtrees: vec![
            GeneralSubtree::IpAddress(CidrSubnet::V4([0; 4], [0; 4])),
            GeneralSubtree::IpAddress(CidrSubnet::V6([0; 16], [0; 16])),
        ],
    });
    let certificate = params.self_signed(&key_pair)?;
    Ok((certificate.pem(), key_pair.serialize_pem()))
}

/// Mints leaf certificates for allow-listed hosts only, and remembers every host it minted for.
#[derive(Clone)]
pub struct AllowListedAuthority {
    inner: Arc<RcgenAuthority>,
    allow_list: AllowList,
    minted_hosts: Arc<Mutex<Vec<String>>>,
}

impl AllowListedAuthority {
    pub fn load(
        certificate_pem: &str,
        key_pem: &str,
        allow_list: AllowList,
    ) -> Result<Self, TlsSetupError> {
        let key_pair = KeyPair::from_pem(key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(certificate_pem, key_pair)?;
        let provider = hudsucker::rustls::crypto::aws_lc_rs::default_provider();
        Ok(Self {
            inner: Arc::new(RcgenAuthority::new(
                issuer,
                LEAF_CACHE_ENTRIES_MAX,
                provider,
            )),
            allow_list,
            minted_hosts: Arc::default(),
        })
    }

    /// Hosts a certificate was minted for since start (bounded by the leaf cache's churn in
    /// practice; only tests and the status page read it).
    pub fn minted_hosts(&self) -> Vec<String> {
        self.minted_hosts
            .lock()
            .map(|hosts| hosts.clone())
            .unwrap_or_default()
    }
}

impl CertificateAuthority for AllowListedAuthority {
    fn gen_server_config(
        &self,
        authority: &Authority,
    ) -> impl Future<Output = Arc<ServerConfig>> + Send {
        let host = authority.host().to_owned();
        let allowed = self.allow_list.contains(&host);
        if allowed && let Ok(mut hosts) = self.minted_hosts.lock() {
            const MINTED_HOSTS_REMEMBERED_MAX: usize = 1024;
            if hosts.len() < MINTED_HOSTS_REMEMBERED_MAX {
                hosts.push(host.clone());
            }
        }
        let target = if allowed {
            authority.clone()
        } else {
            tracing::error!(host = %host, "refused to mint a certificate outside the allow-list");
            Authority::from_static(REFUSED_HOST)
        };
        let inner = Arc::clone(&self.inner);
        async move { inner.gen_server_config(&target).await }
    }
}

/// TCP connections with `MEGABOX_AGENT_RESOLVE` overrides: a listed host is dialled at its
/// override address whatever port the URL names. It sits *under* the TLS layer, which still sees
/// the original host, so SNI and certificate checks are unchanged.
#[derive(Clone)]
pub struct OverridingConnector {
    inner: HttpConnector,
    overrides: Arc<HashMap<String, SocketAddr>>,
}

impl OverridingConnector {
    pub fn new(overrides: HashMap<String, SocketAddr>) -> Self {
        let mut inner = HttpConnector::new();
        inner.enforce_http(false);
        Self {
            inner,
            overrides: Arc::new(overrides),
        }
    }
}

impl tower_service::Service<Uri> for OverridingConnector {
    type Response = <HttpConnector as tower_service::Service<Uri>>::Response;
    type Error = <HttpConnector as tower_service::Service<Uri>>::Error;
    type Future = <HttpConnector as tower_service::Service<Uri>>::Future;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        let host = destination.host().unwrap_or("").to_ascii_lowercase();
        let rewritten = self.overrides.get(&host).and_then(|address| {
            let mut parts = destination.clone().into_parts();
            parts.authority = address.to_string().parse().ok();
            Uri::from_parts(parts).ok()
        });
        self.inner.call(rewritten.unwrap_or(destination))
    }
}

/// The roots upstream certificates are checked against: webpki-roots, plus a PEM file of extra
/// roots when one is configured (tests use this for their loopback publisher).
pub fn upstream_roots(extra_roots_pem: Option<&Path>) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_roots_pem {
        let error = || TlsSetupError::ExtraRoots {
            path: path.display().to_string(),
        };
        let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|_| error())?
            .collect::<Result<_, _>>()
            .map_err(|_| error())?;
        let (added, _ignored) = roots.add_parsable_certificates(certificates);
        if added == 0 {
            return Err(error());
        }
    }
    Ok(roots)
}

/// The upstream connector: resolution overrides, certificate verification, HTTP/1.1.
pub fn upstream_connector(
    connector: OverridingConnector,
    roots: RootCertStore,
) -> Result<hyper_rustls::HttpsConnector<OverridingConnector>, TlsSetupError> {
    let provider = Arc::new(hudsucker::rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ca_is_constrained_to_the_allow_list() {
        let allow_list = AllowList::parse("news.test,paper.test").expect("list");
        let (certificate_pem, key_pem) = generate(&allow_list).expect("generate");
        let der = CertificateDer::from_pem_slice(certificate_pem.as_bytes()).expect("pem");
        // The DER must carry the name-constraints extension (OID 2.5.29.30) with both domains.
        let name_constraints_oid = [0x06, 0x03, 0x55, 0x1d, 0x1e];
        assert!(
            der.windows(name_constraints_oid.len())
                .any(|window| window == name_constraints_oid)
        );
        for domain in ["news.test", "paper.test"] {
            assert!(
                der.windows(domain.len())
                    .any(|window| window == domain.as_bytes()),
                "{domain}"
            );
        }
        // Extended key usage (OID 2.5.29.37) holding only id-kp-serverAuth (1.3.6.1.5.5.7.3.1):
        // the extension's value is SEQUENCE { OID serverAuth } and nothing else.
        let extended_key_usage_oid = [0x06, 0x03, 0x55, 0x1d, 0x25];
        let server_auth_only = [
            0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01,
        ];
        assert!(
            der.windows(extended_key_usage_oid.len())
                .any(|window| window == extended_key_usage_oid)
        );
        assert!(
            der.windows(server_auth_only.len())
                .any(|window| window == server_auth_only)
        );
        assert!(AllowListedAuthority::load(&certificate_pem, &key_pem, allow_list).is_ok());
    }
}
