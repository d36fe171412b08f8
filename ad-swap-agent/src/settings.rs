//! The agent's settings, read once from the environment at start-up (every knob is listed here).
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `MEGABOX_AGENT_DIR` | platform config dir + `/megabox-agent` | keys, CA, outbox, state (all 0600) |
//! | `MEGABOX_AGENT_BIND` | `127.0.0.1:8899` | the local proxy and status page |
//! | `MEGABOX_AGENT_INTERCEPT` | [`DEFAULT_PUBLISHERS`] | publisher allow-list (`host,…`; subdomains included) |
//! | `MEGABOX_AGENT_RESOLVE` | none | `host=ip:port,…` name-resolution overrides (tests on loopback) |
//! | `MEGABOX_AGENT_FILTER_LISTS` | `../shared/testdata/filters/easylist.txt` | filter-list files (`path:path…`) |
//! | `MEGABOX_AGENT_EXTRA_ROOTS` | none | PEM file of extra upstream roots (tests only) |
//! | `MEGABOX_AGENT_SWAP_PERCENT` | 10 | share of eligible slots swapped, in percent |
//! | `MEGABOX_AGENT_DAILY_CAP` | 30 | most swaps per day |

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Publishers intercepted when `MEGABOX_AGENT_INTERCEPT` is unset: large ad-supported news sites.
/// Only these (and their subdomains) are ever decrypted; everything else is a blind tunnel.
pub const DEFAULT_PUBLISHERS: &[&str] = &[
    "theguardian.com",
    "independent.co.uk",
    "cnn.com",
    "reuters.com",
];

/// Where the filter list lives in this repository's sibling `shared/` folder.
const DEFAULT_FILTER_LIST: &str = "../shared/testdata/filters/easylist.txt";

const DEFAULT_BIND: &str = "127.0.0.1:8899";
const DEFAULT_SWAP_PERCENT: u8 = 10;
const DEFAULT_DAILY_CAP: u32 = 30;

/// Longest allow-list; the CA's name constraints carry one entry per host.
pub const ALLOW_LIST_HOSTS_MAX: usize = 256;

/// Errors in the environment's values.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{variable}: {message}")]
    Invalid {
        variable: &'static str,
        message: String,
    },
    #[error("no platform config directory; set MEGABOX_AGENT_DIR")]
    NoConfigDirectory,
}

/// The publisher allow-list: registrable domains whose pages (and subdomains) may be rewritten.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowList {
    domains: Vec<String>,
}

impl AllowList {
    /// Parses `host,host,…`: lower-cased DNS names, no ports, no wildcards, no IP addresses.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut domains = Vec::new();
        for entry in text
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
        {
            let domain = entry.to_ascii_lowercase();
            let label_valid = |label: &str| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
            };
            let is_ip = domain.parse::<std::net::IpAddr>().is_ok();
            if is_ip || domain.len() > 253 || !domain.split('.').all(label_valid) {
                return Err(format!("{entry:?} is not a DNS host name"));
            }
            domains.push(domain);
        }
        if domains.is_empty() || domains.len() > ALLOW_LIST_HOSTS_MAX {
            return Err(format!("expected 1 to {ALLOW_LIST_HOSTS_MAX} hosts"));
        }
        domains.sort();
        domains.dedup();
        Ok(Self { domains })
    }

    /// True when `host` is a listed domain or a subdomain of one (never a mere suffix match:
    /// `evilcnn.com` is not `cnn.com`).
    pub fn contains(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.domains.iter().any(|domain| {
            host == *domain
                || host
                    .strip_suffix(domain.as_str())
                    .is_some_and(|prefix| prefix.ends_with('.'))
        })
    }

    /// The listed domains, sorted.
    pub fn domains(&self) -> &[String] {
        &self.domains
    }
}

/// Parses `host=ip:port,…`.
fn parse_resolve(text: &str) -> Result<HashMap<String, SocketAddr>, String> {
    let mut overrides = HashMap::new();
    for entry in text
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
    {
        let (host, address) = entry
            .split_once('=')
            .ok_or_else(|| format!("{entry:?} lacks '='"))?;
        let address: SocketAddr = address
            .parse()
            .map_err(|_| format!("{address:?} is not ip:port"))?;
        overrides.insert(host.trim().to_ascii_lowercase(), address);
    }
    Ok(overrides)
}

/// Everything the agent reads from its environment.
#[derive(Clone, Debug)]
pub struct Settings {
    pub agent_directory: PathBuf,
    pub bind: SocketAddr,
    pub allow_list: AllowList,
    pub resolve_overrides: HashMap<String, SocketAddr>,
    pub filter_lists: Vec<PathBuf>,
    pub extra_roots_pem: Option<PathBuf>,
    pub slot_choice: crate::slots::SlotChoiceSettings,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_environment() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (tests pass a map instead of the real environment).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let invalid = |variable: &'static str| {
            move |message: String| SettingsError::Invalid { variable, message }
        };
        let agent_directory = match lookup("MEGABOX_AGENT_DIR") {
            Some(directory) => PathBuf::from(directory),
            None => dirs::config_dir()
                .ok_or(SettingsError::NoConfigDirectory)?
                .join("megabox-agent"),
        };
        let bind: SocketAddr = lookup("MEGABOX_AGENT_BIND")
            .unwrap_or_else(|| DEFAULT_BIND.to_owned())
            .parse()
            .map_err(|_| invalid("MEGABOX_AGENT_BIND")("expected ip:port".to_owned()))?;
        // The proxy decrypts allow-listed sites and forwards anything else: on any other
        // address it would be an open proxy for the whole network.
        if !bind.ip().is_loopback() {
            return Err(invalid("MEGABOX_AGENT_BIND")(format!(
                "{bind} is not a loopback address; use 127.0.0.1 or [::1] (the proxy must not be reachable from the network)"
            )));
        }
        let allow_list = AllowList::parse(
            &lookup("MEGABOX_AGENT_INTERCEPT").unwrap_or_else(|| DEFAULT_PUBLISHERS.join(",")),
        )
        .map_err(invalid("MEGABOX_AGENT_INTERCEPT"))?;
        let resolve_overrides = parse_resolve(&lookup("MEGABOX_AGENT_RESOLVE").unwrap_or_default())
            .map_err(invalid("MEGABOX_AGENT_RESOLVE"))?;
        let filter_lists = lookup("MEGABOX_AGENT_FILTER_LISTS")
            .unwrap_or_else(|| DEFAULT_FILTER_LIST.to_owned())
            .split(':')
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
            .collect();
        let percent = match lookup("MEGABOX_AGENT_SWAP_PERCENT") {
            Some(text) => text
                .parse::<u8>()
                .ok()
                .filter(|percent| *percent <= 100)
                .ok_or_else(|| {
                    invalid("MEGABOX_AGENT_SWAP_PERCENT")("expected 0 to 100".to_owned())
                })?,
            None => DEFAULT_SWAP_PERCENT,
        };
        let daily_cap = match lookup("MEGABOX_AGENT_DAILY_CAP") {
            Some(text) => text
                .parse::<u32>()
                .map_err(|_| invalid("MEGABOX_AGENT_DAILY_CAP")("expected a count".to_owned()))?,
            None => DEFAULT_DAILY_CAP,
        };
        Ok(Self {
            agent_directory,
            bind,
            allow_list,
            resolve_overrides,
            filter_lists,
            extra_roots_pem: lookup("MEGABOX_AGENT_EXTRA_ROOTS").map(PathBuf::from),
            slot_choice: crate::slots::SlotChoiceSettings {
                swap_percent: percent,
                swaps_per_day_max: daily_cap,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_matches_domains_and_subdomains_only() {
        let list = AllowList::parse("News.example, cnn.com").expect("valid");
        let cases = [
            ("news.example", true),
            ("www.news.example", true),
            ("WWW.NEWS.EXAMPLE.", true),
            ("cnn.com", true),
            ("evilcnn.com", false),
            ("cnn.com.evil.example", false),
            ("example", false),
            ("", false),
        ];
        for (host, expected) in cases {
            assert_eq!(list.contains(host), expected, "{host:?}");
        }
    }

    #[test]
    fn allow_list_rejects_non_host_names() {
        for hostile in [
            "",
            ",",
            "*.cnn.com",
            "cnn.com:443",
            "127.0.0.1",
            "a..b",
            "bad host",
            "ex/ample.com",
        ] {
            assert!(AllowList::parse(hostile).is_err(), "{hostile:?}");
        }
    }

    #[test]
    fn environment_is_parsed_with_defaults() {
        let environment: HashMap<&str, &str> = HashMap::from([
            ("MEGABOX_AGENT_DIR", "/tmp/agent"),
            (
                "MEGABOX_AGENT_RESOLVE",
                "news.test=127.0.0.1:4443, api.test=127.0.0.1:80",
            ),
        ]);
        let settings =
            Settings::from_lookup(|name| environment.get(name).map(|value| (*value).to_owned()))
                .expect("valid");
        assert_eq!(settings.bind, "127.0.0.1:8899".parse().expect("address"));
        assert_eq!(
            settings.resolve_overrides.get("news.test"),
            Some(&"127.0.0.1:4443".parse().expect("address"))
        );
        assert!(settings.allow_list.contains("www.theguardian.com"));
        assert_eq!(settings.slot_choice.swap_percent, 10);
        assert_eq!(settings.slot_choice.swaps_per_day_max, 30);

        let bad: HashMap<&str, &str> = HashMap::from([
            ("MEGABOX_AGENT_DIR", "/tmp"),
            ("MEGABOX_AGENT_SWAP_PERCENT", "101"),
        ]);
        assert!(
            Settings::from_lookup(|name| bad.get(name).map(|value| (*value).to_owned())).is_err()
        );
        let bad: HashMap<&str, &str> = HashMap::from([
            ("MEGABOX_AGENT_DIR", "/tmp"),
            ("MEGABOX_AGENT_RESOLVE", "x=nowhere"),
        ]);
        assert!(
            Settings::from_lookup(|name| bad.get(name).map(|value| (*value).to_owned())).is_err()
        );
    }

    #[test]
    fn the_proxy_binds_only_to_loopback() {
        let bind_at = |address: &str| {
            let environment: HashMap<&str, &str> = HashMap::from([
                ("MEGABOX_AGENT_DIR", "/tmp/agent"),
                ("MEGABOX_AGENT_BIND", address),
            ]);
            Settings::from_lookup(|name| environment.get(name).map(|value| (*value).to_owned()))
                .map(|settings| settings.bind)
        };
        assert!(bind_at("127.0.0.1:9000").is_ok());
        assert!(bind_at("[::1]:9000").is_ok());
        for open in [
            "0.0.0.0:8899",
            "[::]:8899",
            "192.168.1.20:8899",
            "10.0.0.1:8899",
        ] {
            let refused = bind_at(open).expect_err(open).to_string();
            assert!(refused.contains("loopback"), "{open}: {refused}");
        }
    }
}
