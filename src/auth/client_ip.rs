//! The client's address. `SWITCHBOARD_TRUSTED_PROXIES` (a CIDR list, empty by default) names
//! the proxies whose `X-Forwarded-For` is believed: only when the TCP peer is one of them is
//! the header read, right to left, and the first address that is not itself a trusted proxy
//! is the client. Otherwise the TCP peer is the client. The result feeds the login throttle,
//! the audit trail's IP and the request metadata ([`super::context::request_meta`]).

use std::net::IpAddr;

pub use crate::config::TrustedProxies;

/// The client address of a request from TCP peer `peer` carrying the `X-Forwarded-For`
/// header values `forwarded_for` (in the order received).
///
/// Walks the forwarded addresses from the right (the hop nearest to us) while they are
/// trusted proxies; the first one that is not is the client. An entry that is not an
/// address ends the walk at the last trusted hop, and if every hop is trusted the left-most
/// one is the client. A peer that is not trusted is the client, whatever the header says.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl IntoIterator<Item = &'a str>,
    trusted: &TrustedProxies,
) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut nearest = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            return nearest;
        };
        if !trusted.contains(ip) {
            return ip;
        }
        nearest = ip;
    }
    nearest
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn trusted(s: &str) -> TrustedProxies {
        TrustedProxies::parse(s).unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["127.0.0.9"], &none),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let t = trusted("127.0.0.1/32");
        assert_eq!(
            client_ip(ip("127.0.0.2"), ["127.0.0.9"], &t),
            ip("127.0.0.2")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let t = trusted("127.0.0.1/32, 127.0.0.2");
        // A client may put anything on the left; only hops our proxies appended count.
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["127.0.0.5, 127.0.0.9, 127.0.0.2"], &t),
            ip("127.0.0.9")
        );
        // Several header lines are one list, in order.
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["127.0.0.5", "127.0.0.9", "127.0.0.2"], &t),
            ip("127.0.0.9")
        );
        // Every hop trusted: the left-most is the client.
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["127.0.0.2"], &t),
            ip("127.0.0.2")
        );
        // No header: the peer.
        assert_eq!(client_ip(ip("127.0.0.1"), [], &t), ip("127.0.0.1"));
    }

    #[test]
    fn garbage_ends_the_walk_at_the_last_trusted_hop() {
        let t = trusted("127.0.0.1/32, 127.0.0.2/32");
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["unknown, 127.0.0.2"], &t),
            ip("127.0.0.2")
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["<script>"], &t),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn spellings_are_normalised() {
        let t = trusted("127.0.0.0/30, ::1");
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), ["::ffff:127.0.0.9"], &t),
            ip("127.0.0.9")
        );
        assert_eq!(
            client_ip(ip("::1"), ["[::ffff:127.0.0.9]:4711"], &t),
            ip("127.0.0.9")
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["127.0.0.9:4711"], &t),
            ip("127.0.0.9")
        );
    }

    #[test]
    fn bad_lists_are_refused_with_the_entry_named() {
        let err = TrustedProxies::parse("127.0.0.1/32, nope").unwrap_err();
        assert!(err.contains("'nope'"), "{err}");
        assert!(TrustedProxies::parse("127.0.0.1/33").is_err());
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert_eq!(
            format!("{:?}", trusted("127.0.0.7/8")),
            "[\"127.0.0.0/8\"]",
            "host bits are cleared"
        );
    }
}
