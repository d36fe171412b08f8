//! The client's address, for per-client rate limits and the access log.
//!
//! It is the TCP peer's address unless that peer is a proxy the operator trusts
//! (`MEGABOX_TRUSTED_PROXIES`). From a trusted peer, the `Forwarded` (RFC 7239) or
//! `X-Forwarded-For` chain is read from the right, and the first address that is not itself a
//! trusted proxy is the client: everything left of it was written by the client and may be forged.
//! Without the setting both headers are ignored, so a client cannot choose its own rate-limit key.
//!
//! A proxy appends to the header it manages and passes the other one on untouched, so when both
//! headers name a client and the two disagree, one was forged and nothing says which: such a
//! request is keyed by the proxy's own address.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderMap};

/// Hops of a forwarding chain examined from the right; a longer chain is cut there.
const FORWARDED_HOPS_MAX: usize = 16;

/// The networks whose forwarding headers are believed (`MEGABOX_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of CIDRs (`10.0.0.0/8, fd00::/8`); a bare address is one host.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .map(|network| network.trunc())
                    .map_err(|_| format!("{entry:?} is neither an address nor a CIDR network"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(&address))
    }
}

/// The client of `request`, by the [`TrustedProxies`] the application was built with.
pub fn of(request: &HttpRequest) -> IpAddr {
    let no_trusted_proxies = TrustedProxies::default();
    client_address(
        request.peer_addr().map(|address| address.ip()),
        request.headers(),
        request
            .app_data::<TrustedProxies>()
            .unwrap_or(&no_trusted_proxies),
    )
}

/// The client of a request that came from `peer` with `headers`.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> IpAddr {
    let peer = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| {
        peer.to_canonical()
    });
    if !trusted.contains(peer) {
        return peer;
    }
    let forwarded = header_hops(headers, header::FORWARDED, forwarded_element_address);
    let x_forwarded_for = header_hops(headers, header::X_FORWARDED_FOR, node_address);
    match (forwarded, x_forwarded_for) {
        (None, None) => peer,
        (Some(hops), None) | (None, Some(hops)) => rightmost_untrusted(peer, &hops, trusted),
        (Some(forwarded), Some(x_forwarded_for)) => {
            let from_forwarded = rightmost_untrusted(peer, &forwarded, trusted);
            if from_forwarded == rightmost_untrusted(peer, &x_forwarded_for, trusted) {
                from_forwarded
            } else {
                peer
            }
        }
    }
}

/// Every hop of one header's chain, left to right, across all its lines; `None` for a hop that
/// names no address (`unknown`, an obfuscated identifier, garbage). `None` without the header.
fn header_hops(
    headers: &HeaderMap,
    name: header::HeaderName,
    parse_hop: fn(&str) -> Option<IpAddr>,
) -> Option<Vec<Option<IpAddr>>> {
    let mut lines = headers.get_all(name).peekable();
    lines.peek()?;
    Some(
        lines
            .flat_map(|line| line.to_str().unwrap_or("").split(','))
            .map(|hop| parse_hop(hop.trim()))
            .collect(),
    )
}

/// Walks the chain right to left from the trusted `peer`: the first untrusted address is the
/// client. A hop without an address stops the walk at the trusted proxy that wrote it.
fn rightmost_untrusted(peer: IpAddr, hops: &[Option<IpAddr>], trusted: &TrustedProxies) -> IpAddr {
    let mut client = peer;
    for hop in hops.iter().rev().take(FORWARDED_HOPS_MAX) {
        let Some(address) = hop else {
            return client;
        };
        client = *address;
        if !trusted.contains(client) {
            return client;
        }
    }
    client
}

/// The `for=` address of one `Forwarded` element (`for=192.0.2.60;proto=https;by=…`).
fn forwarded_element_address(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        if key.trim().eq_ignore_ascii_case("for") {
            node_address(value.trim().trim_matches('"'))
        } else {
            None
        }
    })
}

/// An address with or without a port: `192.0.2.60`, `192.0.2.60:4711`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:4711`.
fn node_address(node: &str) -> Option<IpAddr> {
    let address = if let Some(bracketed) = node.strip_prefix('[') {
        let (inside, _port) = bracketed.split_once(']')?;
        inside.parse::<IpAddr>().ok()?
    } else if let Ok(address) = node.parse::<IpAddr>() {
        address
    } else {
        let (host, _port) = node.rsplit_once(':')?;
        IpAddr::V4(host.parse::<Ipv4Addr>().ok()?)
    };
    Some(address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::{TrustedProxies, client_address};
    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

    fn check(peer: &str, trusted: &str, headers: &[(&str, &str)], expected: &str) {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        let trusted = TrustedProxies::parse(trusted).expect("trusted proxies");
        let client = client_address(Some(peer.parse().expect("peer")), &map, &trusted);
        assert_eq!(
            client.to_string(),
            expected,
            "peer {peer}, trusted {trusted:?}, {headers:?}"
        );
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_peers() {
        let xff = "x-forwarded-for";
        // No trusted proxies: the headers are ignored.
        check("198.51.100.7", "", &[(xff, "203.0.113.1")], "198.51.100.7");
        check(
            "198.51.100.7",
            "",
            &[("forwarded", "for=203.0.113.1")],
            "198.51.100.7",
        );
        // An untrusted peer's headers are ignored even when some proxies are trusted.
        check(
            "198.51.100.7",
            "10.0.0.0/8",
            &[(xff, "203.0.113.1")],
            "198.51.100.7",
        );
        // From a trusted proxy: the rightmost untrusted address.
        check(
            "10.0.0.2",
            "10.0.0.0/8",
            &[(xff, "203.0.113.1")],
            "203.0.113.1",
        );
        check(
            "10.0.0.2",
            "10.0.0.0/8",
            &[(xff, "6.6.6.6, 203.0.113.1, 10.0.0.9")],
            "203.0.113.1",
        );
        // Two header lines are one chain.
        check(
            "10.0.0.2",
            "10.0.0.0/8",
            &[(xff, "6.6.6.6"), (xff, "203.0.113.1")],
            "203.0.113.1",
        );
        // A trusted proxy without a header is itself the client.
        check("10.0.0.2", "10.0.0.0/8", &[], "10.0.0.2");
        // A hop without an address stops at the proxy that wrote it.
        check(
            "10.0.0.2",
            "10.0.0.0/8",
            &[(xff, "6.6.6.6, garbage")],
            "10.0.0.2",
        );
        check(
            "10.0.0.2",
            "10.0.0.0/8",
            &[(xff, "6.6.6.6, nonsense, 10.0.0.3")],
            "10.0.0.3",
        );
        // Every hop trusted: the leftmost.
        check(
            "10.0.0.2",
            "10.0.0.0/8",
            &[(xff, "10.1.1.1, 10.0.0.3")],
            "10.1.1.1",
        );
        // Forwarded, with ports, quotes, IPv6 and other parameters.
        check(
            "10.0.0.2",
            "10.0.0.0/8",
            &[(
                "forwarded",
                "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https;by=10.0.0.2",
            )],
            "2001:db8:cafe::17",
        );
        check(
            "10.0.0.2",
            "10.0.0.0/8",
            &[("forwarded", "For=203.0.113.1:8443")],
            "203.0.113.1",
        );
        check(
            "10.0.0.2",
            "10.0.0.0/8",
            &[("forwarded", "for=unknown")],
            "10.0.0.2",
        );
        check(
            "10.0.0.2",
            "10.0.0.0/8",
            &[("forwarded", "proto=https")],
            "10.0.0.2",
        );
        // Both headers agreeing, or disagreeing (one is forged): the proxy's own address.
        check(
            "10.0.0.2",
            "10.0.0.0/8",
            &[(xff, "203.0.113.1"), ("forwarded", "for=203.0.113.1")],
            "203.0.113.1",
        );
        check(
            "10.0.0.2",
            "10.0.0.0/8",
            &[(xff, "203.0.113.1"), ("forwarded", "for=6.6.6.6")],
            "10.0.0.2",
        );
        // IPv4-mapped peers, bare addresses and IPv6 networks.
        check(
            "::ffff:10.0.0.2",
            "10.0.0.2",
            &[(xff, "203.0.113.1")],
            "203.0.113.1",
        );
        check(
            "fd00::1",
            "fd00::/8, 10.0.0.0/8",
            &[(xff, "2001:db8::5")],
            "2001:db8::5",
        );
    }

    #[test]
    fn a_malformed_trusted_proxy_list_is_refused() {
        for list in ["10.0.0.0/33", "example.com", "10.0.0.0/8,,nonsense"] {
            assert!(TrustedProxies::parse(list).is_err(), "{list}");
        }
        assert_eq!(
            TrustedProxies::parse(" ").expect("empty"),
            TrustedProxies::default()
        );
    }
}
