//! Which addresses an outbound request may reach. Anything publicly routable is fine; loopback,
//! private, link-local and the other special-purpose ranges of the IANA registries are refused,
//! because a user-supplied URL pointing there would let a workflow author probe or call services
//! that only Weft's own network can see (the cloud metadata endpoint above all). An operator can
//! open specific ranges again with an allow-list, e.g. for an internal API the workflows must call.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::LazyLock;

/// The refused ranges, each with what it is for, from the IANA IPv4 and IPv6 special-purpose
/// registries and the production list in SPECS §7. The first match names the range in [`Blocked`],
/// so the broadcast address comes before the class E block that contains it.
const RESERVED: &[(&str, &str)] = &[
    ("0.0.0.0/8", "\"this network\""),
    ("10.0.0.0/8", "private network"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local, including the cloud metadata endpoint"),
    ("172.16.0.0/12", "private network"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private network"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved (class E)"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("2001:2::/48", "benchmarking"),
    ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing (SRv6)"),
    ("fc00::/7", "unique local"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
];

static RESERVED_RANGES: LazyLock<Vec<Reserved>> = LazyLock::new(|| {
    RESERVED
        .iter()
        .map(|&(range, purpose)| Reserved {
            cidr: range.parse().unwrap_or_else(|reason| panic!("reserved range {range}: {reason}")),
            range,
            purpose,
        })
        .collect()
});

struct Reserved {
    cidr: Cidr,
    range: &'static str,
    purpose: &'static str,
}

/// Host names refused before any lookup. They resolve to the metadata address, which is refused
/// anyway; naming them too means a resolver that answers differently (a split-horizon DNS, a
/// hosts file) cannot open the way.
const BLOCKED_NAMES: &[&str] = &["metadata.google.internal", "metadata.amazonaws.com"];

/// Whether `host` (as a URL gives it: lower-case, IDNA-encoded) is a name refused outright.
/// The allow-list does not apply: it speaks of addresses, not names.
pub(super) fn is_blocked_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    BLOCKED_NAMES.contains(&host)
}

/// The addresses outbound requests may reach: everything outside the reserved ranges, plus the
/// operator's allow-list.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allow: Vec<Cidr>,
}

impl OutboundPolicy {
    /// Builds a policy whose allow-list is `entries`, each `address/prefix` (`10.1.0.0/16`,
    /// `::1/128`) or a bare address meaning that one host. Surrounding spaces are ignored, so a
    /// comma-separated setting can be split and passed straight in.
    pub fn from_cidrs<I, S>(entries: I) -> Result<Self, CidrError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let allow = entries
            .into_iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                entry.parse().map_err(|reason| CidrError { entry: entry.to_owned(), reason })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { allow })
    }

    /// Refuses `ip` if it lies in a reserved range and not in the allow-list.
    ///
    /// An IPv6 address that carries an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`,
    /// IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`) is judged by that IPv4 address, since
    /// that is where the packets end up; the allow-list is consulted for both forms.
    pub fn check(&self, ip: IpAddr) -> Result<(), Blocked> {
        let judged = embedded_ipv4(ip).unwrap_or(ip);
        if self.allow.iter().any(|cidr| cidr.contains(ip) || cidr.contains(judged)) {
            return Ok(());
        }
        match RESERVED_RANGES.iter().find(|reserved| reserved.cidr.contains(judged)) {
            Some(reserved) => Err(Blocked { ip, range: reserved.range, purpose: reserved.purpose }),
            None => Ok(()),
        }
    }
}

/// The IPv4 address inside an IPv4-mapped, IPv4-compatible or NAT64 (`64:ff9b::/96`) IPv6
/// address. `::` and `::1` have IPv6 meanings of their own and are left alone.
fn embedded_ipv4(ip: IpAddr) -> Option<IpAddr> {
    const MAPPED: u128 = 0xffff;
    const NAT64: u128 = 0x0064_ff9b_0000_0000_0000_0000;
    let IpAddr::V6(v6) = ip else { return None };
    let bits = v6.to_bits();
    let prefix = bits >> 32;
    let carries_ipv4 = prefix == MAPPED || prefix == NAT64 || (prefix == 0 && bits > 1);
    // The shift above left the low 32 bits alone, so truncating to them is exact.
    carries_ipv4.then(|| IpAddr::V4((bits as u32).into()))
}

/// Why [`OutboundPolicy::check`] refused an address. Meant for logs: it names internal ranges,
/// so the message shown to a workflow author leaves it out (see `OutboundError::Blocked`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{ip} is in {range} ({purpose}), which is not allow-listed")]
pub struct Blocked {
    pub ip: IpAddr,
    /// The reserved range, e.g. `169.254.0.0/16`. For an address carrying an IPv4 address, the
    /// IPv4 range.
    pub range: &'static str,
    pub purpose: &'static str,
}

/// An allow-list entry that is not a CIDR range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("outbound allow-list entry {entry:?} is not a CIDR range: {reason}")]
pub struct CidrError {
    pub entry: String,
    pub reason: &'static str,
}

/// An address block, `network/prefix`.
#[derive(Debug, Clone)]
struct Cidr {
    network: IpAddr,
    prefix: u32,
}

impl Cidr {
    /// Addresses of the other family never match: an IPv4 range speaks of IPv6 addresses only
    /// through [`embedded_ipv4`].
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                self.network_bits(network.to_bits().into()) == self.network_bits(ip.to_bits().into())
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                self.network_bits(network.to_bits()) == self.network_bits(ip.to_bits())
            }
            _ => false,
        }
    }

    /// The address's leading `prefix` bits, shifted down.
    fn network_bits(&self, address: u128) -> u128 {
        address.checked_shr(self.host_bit_count()).unwrap_or(0)
    }

    fn host_bit_count(&self) -> u32 {
        address_bits(self.network) - self.prefix
    }
}

fn address_bits(ip: IpAddr) -> u32 {
    if ip.is_ipv4() { 32 } else { 128 }
}

impl FromStr for Cidr {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().map_err(|_| "the address is neither IPv4 nor IPv6")?;
        let width = address_bits(network);
        let prefix = match prefix {
            Some(prefix) => prefix.parse().map_err(|_| "the prefix length is not a number")?,
            None => width,
        };
        if prefix > width {
            return Err("the prefix length is longer than the address");
        }
        let cidr = Self { network, prefix };
        let bits = match network {
            IpAddr::V4(v4) => v4.to_bits().into(),
            IpAddr::V6(v6) => v6.to_bits(),
        };
        // Refusing `10.1.2.0/16` rather than reading it as `10.1.0.0/16` catches a typo that
        // would otherwise open a range other than the one the operator had in mind.
        if cidr.network_bits(bits).checked_shl(cidr.host_bit_count()).unwrap_or(0) != bits {
            return Err("the address has bits set beyond the prefix length");
        }
        Ok(cidr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// The range `ip` is refused for by the default policy, or `None` if it is allowed.
    fn refused_range(ip_text: &str) -> Option<&'static str> {
        OutboundPolicy::default().check(ip(ip_text)).err().map(|blocked| blocked.range)
    }

    #[test]
    fn every_reserved_range_refuses_an_address_inside_and_not_the_one_just_outside() {
        // (range, an address inside, the address just outside, what the default policy says of it)
        let cases: &[(&str, &str, &str, Option<&str>)] = &[
            ("0.0.0.0/8", "0.255.255.255", "1.0.0.0", None),
            ("10.0.0.0/8", "10.0.0.1", "11.0.0.0", None),
            ("100.64.0.0/10", "100.127.255.255", "100.128.0.0", None),
            ("127.0.0.0/8", "127.0.0.1", "128.0.0.0", None),
            ("169.254.0.0/16", "169.254.169.254", "169.255.0.0", None),
            ("172.16.0.0/12", "172.31.255.255", "172.32.0.0", None),
            ("192.0.0.0/24", "192.0.0.8", "192.0.1.0", None),
            ("192.0.2.0/24", "192.0.2.1", "192.0.3.0", None),
            ("192.88.99.0/24", "192.88.99.1", "192.88.100.0", None),
            ("192.168.0.0/16", "192.168.1.1", "192.169.0.0", None),
            ("198.18.0.0/15", "198.19.255.255", "198.20.0.0", None),
            ("198.51.100.0/24", "198.51.100.7", "198.51.101.0", None),
            ("203.0.113.0/24", "203.0.113.9", "203.0.114.0", None),
            ("224.0.0.0/4", "224.0.0.1", "223.255.255.255", None),
            // Class E has no public neighbour: multicast lies below, the end of the space above.
            ("255.255.255.255/32", "255.255.255.255", "255.255.255.254", Some("240.0.0.0/4")),
            ("240.0.0.0/4", "240.0.0.1", "239.255.255.255", Some("224.0.0.0/4")),
            // `::1` is loopback and `::2` onwards carries 0.0.0.2 and so on (IPv4-compatible).
            ("::/128", "::", "::1", Some("::1/128")),
            ("::1/128", "::1", "::2", Some("0.0.0.0/8")),
            ("64:ff9b:1::/48", "64:ff9b:1::1", "64:ff9b:2::", None),
            ("100::/64", "100::1", "100:0:0:1::", None),
            ("2001:2::/48", "2001:2::1", "2001:2:1::", None),
            ("2001:db8::/32", "2001:db8::1", "2001:db9::", None),
            ("2002::/16", "2002:c000:204::1", "2003::", None),
            ("3fff::/20", "3fff::1", "3fff:1000::", None),
            ("5f00::/16", "5f00::1", "5f01::", None),
            ("fc00::/7", "fd12:3456::1", "fe00::", None),
            ("fe80::/10", "fe80::1", "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", None),
            // Site-local sits between link-local and multicast.
            ("fec0::/10", "feff::1", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some("fe80::/10")),
            ("ff00::/8", "ff02::1", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some("fec0::/10")),
        ];
        for &(range, inside, outside, outside_verdict) in cases {
            assert_eq!(refused_range(inside), Some(range), "{inside} should be refused as {range}");
            assert_eq!(refused_range(outside), outside_verdict, "{outside} is outside {range}");
        }
        let tested: Vec<&str> = cases.iter().map(|case| case.0).collect();
        let listed: Vec<&str> = RESERVED.iter().map(|reserved| reserved.0).collect();
        assert_eq!(tested, listed, "every reserved range has a case, in the table's order");
    }

    #[test]
    fn public_addresses_are_allowed() {
        for public in ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "2a00:1450:4001::200e"] {
            assert_eq!(refused_range(public), None, "{public}");
        }
    }

    #[test]
    fn ipv6_addresses_carrying_ipv4_are_judged_by_the_ipv4_address() {
        for (carrier, range) in [
            ("::ffff:127.0.0.1", Some("127.0.0.0/8")),
            ("::ffff:169.254.169.254", Some("169.254.0.0/16")),
            ("::ffff:8.8.8.8", None),
            ("::10.0.0.1", Some("10.0.0.0/8")),
            ("::8.8.8.8", None),
            ("64:ff9b::169.254.169.254", Some("169.254.0.0/16")),
            ("64:ff9b::192.168.0.1", Some("192.168.0.0/16")),
            ("64:ff9b::8.8.8.8", None),
            // Just past the NAT64 /96: no IPv4 inside, and no reserved range either.
            ("64:ff9b::1:0:0", None),
        ] {
            assert_eq!(refused_range(carrier), range, "{carrier}");
        }
        let blocked = OutboundPolicy::default().check(ip("::ffff:10.1.2.3")).unwrap_err();
        assert_eq!(blocked.ip, ip("::ffff:10.1.2.3"), "the refusal names the address as given");
    }

    #[test]
    fn allow_list_opens_its_ranges_and_nothing_else() {
        let policy = OutboundPolicy::from_cidrs(["127.0.0.0/8", " 10.1.0.0/16", "::1/128", "192.168.7.9"]).unwrap();
        for allowed in ["127.0.0.1", "127.255.255.255", "10.1.200.3", "::1", "192.168.7.9"] {
            assert_eq!(policy.check(ip(allowed)), Ok(()), "{allowed}");
        }
        for refused in ["10.2.0.1", "10.0.255.255", "192.168.7.10", "169.254.169.254", "fd00::1"] {
            assert!(policy.check(ip(refused)).is_err(), "{refused}");
        }
    }

    #[test]
    fn allow_list_applies_to_the_ipv4_inside_an_ipv6_address() {
        let policy = OutboundPolicy::from_cidrs(["127.0.0.0/8"]).unwrap();
        assert_eq!(policy.check(ip("::ffff:127.0.0.1")), Ok(()));
        assert_eq!(policy.check(ip("64:ff9b::127.0.0.1")), Ok(()));
        assert!(policy.check(ip("::ffff:10.0.0.1")).is_err());
    }

    #[test]
    fn bad_allow_list_entries_are_named_with_the_reason() {
        for (entry, reason) in [
            ("10.0.0.0/33", "the prefix length is longer than the address"),
            ("::1/129", "the prefix length is longer than the address"),
            ("10.1.2.0/16", "the address has bits set beyond the prefix length"),
            ("fd00::1/8", "the address has bits set beyond the prefix length"),
            ("10.0.0.0/x", "the prefix length is not a number"),
            ("10.0.0.0/", "the prefix length is not a number"),
            ("example.com/24", "the address is neither IPv4 nor IPv6"),
            ("", "the address is neither IPv4 nor IPv6"),
        ] {
            let error = OutboundPolicy::from_cidrs(["127.0.0.0/8", entry]).unwrap_err();
            assert_eq!(error, CidrError { entry: entry.to_owned(), reason }, "{entry:?}");
        }
    }

    #[test]
    fn zero_length_prefixes_cover_their_whole_family() {
        let policy = OutboundPolicy::from_cidrs(["0.0.0.0/0"]).unwrap();
        assert_eq!(policy.check(ip("10.0.0.1")), Ok(()));
        assert!(policy.check(ip("fd00::1")).is_err(), "an IPv4 range never opens an IPv6 address");
        let policy = OutboundPolicy::from_cidrs(["::/0"]).unwrap();
        assert_eq!(policy.check(ip("fd00::1")), Ok(()));
    }

    #[test]
    fn metadata_host_names_are_blocked_with_or_without_the_trailing_dot() {
        assert!(is_blocked_name("metadata.google.internal"));
        assert!(is_blocked_name("metadata.google.internal."));
        assert!(is_blocked_name("metadata.amazonaws.com"));
        assert!(!is_blocked_name("metadata.example.com"));
    }
}
