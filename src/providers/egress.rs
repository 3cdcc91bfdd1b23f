//! The egress guard (DESIGN.md rule 9): which addresses an outgoing provider check may
//! connect to. Public addresses are allowed; anything else only when the operator lists it
//! in `SWITCHBOARD_EGRESS_ALLOW`; link-local, cloud-metadata and unspecified addresses
//! never. IPv6 forms that embed an IPv4 address (mapped, NAT64, 6to4) are judged by the
//! IPv4 address inside them, so `[::ffff:127.0.0.1]` is loopback.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use ipnet::IpNet;

/// The environment variable operators use to widen the policy.
pub const EGRESS_ENV: &str = "SWITCHBOARD_EGRESS_ALLOW";

/// Which non-public networks outgoing checks may reach. The default is closed: public
/// addresses only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    rules: Vec<AllowRule>,
    /// `none`: no outgoing check at all, public addresses included (air-gapped servers,
    /// and test servers that must send nothing anywhere).
    deny_all: bool,
}

/// One allow-list entry: a network and, optionally, the only port allowed in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowRule {
    /// The allowed network.
    pub net: IpNet,
    /// When set, only this port is allowed.
    pub port: Option<u16>,
}

impl EgressPolicy {
    /// The closed policy: public addresses only.
    pub fn closed() -> Self {
        Self::default()
    }

    /// Parses the value of `SWITCHBOARD_EGRESS_ALLOW`: comma-separated `CIDR[:port]`
    /// entries; a bare address means a single host; IPv6 with a port is written
    /// `[cidr]:port`. An empty value is the closed policy.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.trim() == "none" {
            return Ok(Self {
                rules: Vec::new(),
                deny_all: true,
            });
        }
        let mut rules = Vec::new();
        for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let rule = parse_rule(entry).map_err(|why| format!("entry {entry:?}: {why}"))?;
            rules.push(rule);
        }
        Ok(Self {
            rules,
            deny_all: false,
        })
    }

    /// Whether the policy is `none`: nothing may be reached, not even a public address.
    pub fn denies_all(&self) -> bool {
        self.deny_all
    }

    /// Checks one address the check would connect to.
    pub fn check_addr(&self, addr: SocketAddr) -> Result<(), Refusal> {
        let ip = addr.ip();
        let class = AddressClass::of(ip);
        let refuse = |allow_listed| {
            Err(Refusal {
                addr,
                class,
                allow_listed,
            })
        };
        if class.always_refused() {
            return refuse(self.matching_net(ip).is_some());
        }
        if self.deny_all {
            return refuse(false);
        }
        if class == AddressClass::Public {
            return Ok(());
        }
        let port_ok = |rule: &AllowRule| rule.port.is_none_or(|p| p == addr.port());
        match self.matching_rules(ip).any(port_ok) {
            true => Ok(()),
            false => refuse(false),
        }
    }

    /// Checks every address of a resolved name: one refused address refuses the set,
    /// so a name that resolves to a mix of public and private addresses is refused.
    /// An empty set is refused too (there is nothing checked to connect to).
    pub fn check_addrs(&self, addrs: &[SocketAddr]) -> Result<(), Refusal> {
        if addrs.is_empty() {
            return Err(Refusal {
                addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
                class: AddressClass::Unspecified,
                allow_listed: false,
            });
        }
        addrs.iter().try_for_each(|a| self.check_addr(*a))
    }

    /// The rules that admit `ip`, judged on its normalised form only: an IPv6 spelling of
    /// an IPv4 address (`::ffff:127.0.0.1`) is matched as that IPv4 address, so `::/0`
    /// cannot admit `127.0.0.1` or a private IPv4 network through its mapped form.
    fn matching_rules(&self, ip: IpAddr) -> impl Iterator<Item = &AllowRule> {
        let normal = normalise(ip);
        self.rules.iter().filter(move |r| r.net.contains(&normal))
    }

    fn matching_net(&self, ip: IpAddr) -> Option<&AllowRule> {
        self.matching_rules(ip).next()
    }
}

impl fmt::Display for EgressPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.deny_all {
            return f.write_str("nothing (none)");
        }
        if self.rules.is_empty() {
            return f.write_str("public addresses only");
        }
        f.write_str("public addresses and ")?;
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match (rule.net, rule.port) {
                (IpNet::V6(net), Some(port)) => write!(f, "[{net}]:{port}")?,
                (net, Some(port)) => write!(f, "{net}:{port}")?,
                (net, None) => write!(f, "{net}")?,
            }
        }
        Ok(())
    }
}

fn parse_rule(entry: &str) -> Result<AllowRule, String> {
    let (cidr, port) = if let Some(rest) = entry.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or("missing ']'")?;
        match after {
            "" => (inside, None),
            _ => {
                let port = after
                    .strip_prefix(':')
                    .ok_or("expected ':port' after ']'")?;
                (inside, Some(port))
            }
        }
    } else {
        match entry.matches(':').count() {
            0 => (entry, None),
            1 => entry
                .split_once(':')
                .map(|(c, p)| (c, Some(p)))
                .ok_or("bad port")?,
            // A bare IPv6 network; a port needs the bracketed form.
            _ => (entry, None),
        }
    };
    let net = match cidr.contains('/') {
        true => IpNet::from_str(cidr).map_err(|_| "not a CIDR (e.g. 10.0.0.0/8, fd00::/8)")?,
        false => IpNet::from(IpAddr::from_str(cidr).map_err(|_| "not an IP address or CIDR")?),
    };
    // Addresses are judged in normalised form, so a rule must be written that way too.
    if let IpNet::V6(v6) = net
        && v6.prefix_len() >= 96
        && normalise(IpAddr::V6(v6.network())) != IpAddr::V6(v6.network())
    {
        return Err("an IPv6 spelling of IPv4 addresses; write the IPv4 network instead".into());
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(format!("bad port {p:?} (1-65535)")),
            Ok(p) => Some(p),
        },
    };
    Ok(AllowRule {
        net: net.trunc(),
        port,
    })
}

/// A refused address, with why. Its `Display` is the message shown to admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub struct Refusal {
    /// The refused address (with the port the check would use).
    pub addr: SocketAddr,
    /// What kind of address it is.
    pub class: AddressClass,
    /// Whether an allow rule covered it (only possible for always-refused classes).
    pub allow_listed: bool,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An IPv6 spelling of an IPv4 address is shown with the address it stands for.
        let raw = self.addr.ip();
        let ip = match normalise(raw) {
            normal if normal != raw => format!("{raw} (that is {normal})"),
            _ => raw.to_string(),
        };
        if self.class.always_refused() {
            write!(
                f,
                "this server's egress policy refused {ip}: {} addresses are never reachable \
                 from provider checks",
                self.class.label()
            )
        } else {
            write!(
                f,
                "this server's egress policy refused {ip} (port {}): it is a {} address; \
                 ask your platform operator to allow this address",
                self.addr.port(),
                self.class.label()
            )
        }
    }
}

/// What an address is, for the policy and for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// Globally routable.
    Public,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918 and deprecated IPv6 site-local.
    Private,
    /// 100.64.0.0/10.
    SharedCgnat,
    /// fc00::/7.
    UniqueLocal,
    /// 169.254.0.0/16, fe80::/10 — always refused.
    LinkLocal,
    /// Cloud metadata service addresses outside link-local (168.63.129.16 Azure,
    /// 100.100.100.200 Alibaba, 192.0.0.192 Oracle, fd00:ec2::254 AWS) — always refused.
    Metadata,
    /// 0.0.0.0/8, :: — always refused (connecting to them reaches the local host).
    Unspecified,
    /// Multicast.
    Multicast,
    /// Documentation ranges.
    Documentation,
    /// Benchmarking ranges.
    Benchmarking,
    /// Any other special-purpose or unallocated range.
    Reserved,
}

impl AddressClass {
    /// Classifies an address, judging IPv6 forms that embed IPv4 by the IPv4 address.
    pub fn of(ip: IpAddr) -> Self {
        if ip == IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)) {
            return Self::Metadata;
        }
        match normalise(ip) {
            IpAddr::V4(v4) => classify_v4(v4),
            IpAddr::V6(v6) => classify_v6(v6),
        }
    }

    /// Whether no allow rule can admit it.
    pub fn always_refused(self) -> bool {
        matches!(self, Self::LinkLocal | Self::Metadata | Self::Unspecified)
    }

    /// Human name used in messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Loopback => "loopback",
            Self::Private => "private-network",
            Self::SharedCgnat => "shared (CGNAT)",
            Self::UniqueLocal => "unique-local (private IPv6)",
            Self::LinkLocal => "link-local",
            Self::Metadata => "cloud metadata",
            Self::Unspecified => "unspecified (0.0.0.0 / ::)",
            Self::Multicast => "multicast",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::Reserved => "reserved",
        }
    }
}

/// The IPv4 address an IPv6 address stands for, if it embeds one: IPv4-mapped
/// (`::ffff:a.b.c.d`), NAT64 well-known prefix (`64:ff9b::a.b.c.d`) and 6to4
/// (`2002:aabb:ccdd::/48`) and IPv4-compatible (`::a.b.c.d`). Other addresses are returned
/// unchanged.
fn normalise(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else { return ip };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let bits = u128::from(v6);
    if in_v6(bits, 0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96) {
        return IpAddr::V4(Ipv4Addr::from(bits as u32));
    }
    if in_v6(bits, 0x2002 << 112, 16) {
        return IpAddr::V4(Ipv4Addr::from((bits >> 80) as u32));
    }
    // IPv4-compatible (`::a.b.c.d`, deprecated); `::` and `::1` keep their own meaning.
    if bits >> 32 == 0 && bits > 1 {
        return IpAddr::V4(Ipv4Addr::from(bits as u32));
    }
    ip
}

fn in_v4(ip: u32, base: [u8; 4], len: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    ip & mask == u32::from_be_bytes(base) & mask
}

fn in_v6(ip: u128, base: u128, len: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    ip & mask == base & mask
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    const TABLE: &[([u8; 4], u32, AddressClass)] = &[
        // First: these sit inside ranges an operator may allow-list (CGNAT, 192.0.0.0/24).
        ([168, 63, 129, 16], 32, Metadata),
        ([100, 100, 100, 200], 32, Metadata),
        ([192, 0, 0, 192], 32, Metadata),
        ([0, 0, 0, 0], 8, Unspecified),
        ([127, 0, 0, 0], 8, Loopback),
        ([10, 0, 0, 0], 8, Private),
        ([172, 16, 0, 0], 12, Private),
        ([192, 168, 0, 0], 16, Private),
        ([100, 64, 0, 0], 10, SharedCgnat),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 0, 2, 0], 24, Documentation),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([198, 18, 0, 0], 15, Benchmarking),
        ([192, 88, 99, 0], 24, Reserved),
        ([224, 0, 0, 0], 4, Multicast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    let bits = u32::from(ip);
    TABLE
        .iter()
        .find(|(base, len, _)| in_v4(bits, *base, *len))
        .map_or(Public, |(_, _, class)| *class)
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    const TABLE: &[(u128, u32, AddressClass)] = &[
        (0, 128, Unspecified),
        (1, 128, Loopback),
        (0xfe80 << 112, 10, LinkLocal),
        (0xfec0 << 112, 10, Private),
        (0xfc00 << 112, 7, UniqueLocal),
        (0xff00 << 112, 8, Multicast),
        (0x2001_0db8 << 96, 32, Documentation),
        (0x3fff << 112, 20, Documentation),
        (0x2001_0002 << 96, 48, Benchmarking),
        (0x2001 << 112, 23, Reserved),
        (0x0100 << 112, 64, Reserved),
        (0x0064_ff9b_0001 << 80, 48, Reserved),
    ];
    let bits = u128::from(ip);
    if let Some((_, _, class)) = TABLE.iter().find(|(b, l, _)| in_v6(bits, *b, *l)) {
        return *class;
    }
    // Only 2000::/3 is allocated for global unicast.
    match in_v6(bits, 0x2000 << 112, 3) {
        true => Public,
        false => Reserved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> AddressClass {
        AddressClass::of(s.parse().expect("test address"))
    }

    #[test]
    fn classifies_special_ranges() {
        assert_eq!(class("8.8.8.8"), AddressClass::Public);
        assert_eq!(class("2606:4700::1111"), AddressClass::Public);
        assert_eq!(class("127.0.0.1"), AddressClass::Loopback);
        assert_eq!(class("::ffff:127.0.0.1"), AddressClass::Loopback);
        assert_eq!(class("64:ff9b::10.0.0.1"), AddressClass::Private);
        assert_eq!(class("2002:a9fe:a9fe::1"), AddressClass::LinkLocal);
        assert_eq!(class("::ffff:169.254.169.254"), AddressClass::LinkLocal);
        // IPv4-compatible spellings are unpacked too, so allow-listing `::/0` cannot admit
        // the metadata address.
        assert_eq!(class("::169.254.169.254"), AddressClass::LinkLocal);
        assert_eq!(class("::127.0.0.1"), AddressClass::Loopback);
        assert_eq!(class("::"), AddressClass::Unspecified);
        assert_eq!(class("::1"), AddressClass::Loopback);
        assert_eq!(class("fd00:ec2::254"), AddressClass::Metadata);
        assert_eq!(class("fd12::1"), AddressClass::UniqueLocal);
        assert_eq!(class("100.64.1.1"), AddressClass::SharedCgnat);
        assert_eq!(class("0.0.0.0"), AddressClass::Unspecified);
        assert_eq!(class("::"), AddressClass::Unspecified);
        assert_eq!(class("255.255.255.255"), AddressClass::Reserved);
        assert_eq!(class("::1"), AddressClass::Loopback);
    }

    #[test]
    fn cloud_metadata_addresses_are_refused_in_every_spelling_whatever_the_allow_list() {
        let everything = EgressPolicy::parse("0.0.0.0/0, ::/0").expect("valid");
        for ip in [
            "169.254.169.254",
            "168.63.129.16",
            "100.100.100.200",
            "192.0.0.192",
            "::ffff:168.63.129.16",
            "::ffff:100.100.100.200",
            "::ffff:192.0.0.192",
            "::192.0.0.192",
            "64:ff9b::168.63.129.16",
            "2002:6464:64c8::1",
            "fd00:ec2::254",
        ] {
            let addr = SocketAddr::new(ip.parse().expect("address"), 80);
            let refusal = everything.check_addr(addr).expect_err(ip);
            assert!(refusal.class.always_refused(), "{ip}: {refusal}");
        }
        assert_eq!(class("168.63.129.16"), AddressClass::Metadata);
        assert_eq!(class("100.100.100.201"), AddressClass::SharedCgnat);
    }

    #[test]
    fn allow_rules_match_the_normalised_address_only() {
        let at = |ip: &str, port| SocketAddr::new(ip.parse().expect("address"), port);
        // `::/0` admits IPv6 networks, never an IPv4 address spelt in IPv6.
        let v6_only = EgressPolicy::parse("::/0").expect("valid");
        for ip in [
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
        ] {
            let refusal = v6_only.check_addr(at(ip, 9)).expect_err(ip);
            assert_eq!(refusal.class, AddressClass::Loopback, "{ip}");
        }
        assert!(v6_only.check_addr(at("::1", 9)).is_ok());
        assert!(v6_only.check_addr(at("fd12::1", 9)).is_ok());
        // Allowing 127.0.0.0/8 admits its mapped spellings.
        let v4 = EgressPolicy::parse("127.0.0.0/8").expect("valid");
        assert!(v4.check_addr(at("::ffff:127.0.0.1", 9)).is_ok());
        assert!(v4.check_addr(at("::1", 9)).is_err());
        // A rule spelt as mapped IPv4 would never match; it is refused at start-up.
        assert!(EgressPolicy::parse("::ffff:127.0.0.0/104").is_err());
        assert!(EgressPolicy::parse("::ffff:0:0/96").is_err());
    }

    #[test]
    fn parses_entries() {
        let p = EgressPolicy::parse(" 10.1.2.3/8:11434, [fd00::/8]:443 , ::1, 192.168.1.5")
            .expect("valid");
        let shown = p.to_string();
        assert_eq!(
            shown,
            "public addresses and 10.0.0.0/8:11434, [fd00::/8]:443, ::1/128, 192.168.1.5/32"
        );
        assert!(EgressPolicy::parse("10.0.0.0/33").is_err());
        assert!(EgressPolicy::parse("10.0.0.0/8:0").is_err());
        assert!(EgressPolicy::parse("[fd00::/8").is_err());
        assert!(EgressPolicy::parse("example.com").is_err());
        assert_eq!(EgressPolicy::parse(""), Ok(EgressPolicy::closed()));
        let none = EgressPolicy::parse("none").expect("valid");
        assert!(none.denies_all() && !EgressPolicy::closed().denies_all());
        assert_eq!(none.to_string(), "nothing (none)");
        let public: SocketAddr = "93.184.215.14:443".parse().unwrap();
        assert!(EgressPolicy::closed().check_addr(public).is_ok());
        assert!(
            none.check_addr(public).is_err(),
            "none refuses public addresses too"
        );
    }
}
