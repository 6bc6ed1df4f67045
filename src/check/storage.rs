//! Storage: which environment may use which instance, the HA invariants of an instance, and
//! the buckets derived from the topology.

use std::collections::BTreeMap;

use super::{and_list, Checker};
use crate::buckets;
use crate::model::StorageInstance;
use crate::names::{is_bucket_name, is_dns_label, is_label_value, DNS_LABEL_HELP, LABEL_VALUE_HELP};

pub(super) fn check(c: &mut Checker) {
    let p = c.platform;
    for (env_name, env) in &p.environments {
        let Some(storage) = p.storage.get(&env.storage) else { continue };
        if env.ha_storage && !storage.ha {
            c.error(
                &["environments", env_name, "storage"],
                format!("environment `{env_name}` needs HA storage, but `{}` is not HA", env.storage),
                "store on an HA instance, or set `ha_storage = false` if losing this environment's data is acceptable",
            );
        }
    }

    for (name, s) in &p.storage {
        let path = |field: &'static str| ["storage", name.as_str(), field];
        let code: Vec<u32> = s.replication.chars().filter_map(|ch| ch.to_digit(10)).collect();
        if code.len() != 3 || s.replication.len() != 3 {
            c.error(
                &path("replication"),
                format!("replication `{}` of `{name}` is not a SeaweedFS replication code", s.replication),
                "write three digits XYZ: copies in other data centers, on other racks, on other servers of the rack",
            );
        }
        if !matches!(s.masters, 1 | 3 | 5) {
            c.error(
                &path("masters"),
                format!("`{name}` has {} masters; a raft group needs 1, 3 or 5", s.masters),
                "use 3 masters (5 to survive two failures)",
            );
        }
        if s.ha {
            if s.masters == 1 {
                c.error(
                    &path("masters"),
                    format!("HA instance `{name}` has 1 master; it would not survive losing it"),
                    "use 3 or 5 masters",
                );
            }
            if s.filers < 2 {
                c.error(
                    &path("filers"),
                    format!("HA instance `{name}` has 1 filer; the S3 gateway would stop with it"),
                    "use at least 2 filers",
                );
            }
            if code.len() == 3 {
                let (dcs, racks, servers) = (code[0], code[1], code[2]);
                if dcs > 0 {
                    c.error(
                        &path("replication"),
                        format!("replication `{}` of `{name}` wants copies in {dcs} other data center(s); the instance has one", s.replication),
                        "set the first digit to 0",
                    );
                }
                if !s.racks.is_empty() && (s.racks.len() as u32) < racks + 1 {
                    c.error(
                        &path("racks"),
                        format!(
                            "replication `{}` of `{name}` puts copies on {} racks, but the instance has {}",
                            s.replication,
                            racks + 1,
                            s.racks.len()
                        ),
                        format!("use at least {} racks, or lower the middle digit", racks + 1),
                    );
                }
                if servers > 0 {
                    c.error(
                        &path("replication"),
                        format!("replication `{}` of `{name}` wants {servers} more server(s) per rack; each rack has one volume server", s.replication),
                        "set the last digit to 0 and replicate across racks",
                    );
                }
                if racks == 0 {
                    c.error(
                        &path("replication"),
                        format!("HA instance `{name}` keeps one copy of each file (replication `{}`)", s.replication),
                        "replicate across racks, e.g. `010`",
                    );
                }
            }
            racks_in_zones(c, name, s);
        } else {
            // One `weed server` process: one of everything, nothing to replicate to.
            if !s.racks.is_empty() {
                c.error(
                    &path("racks"),
                    format!("non-HA instance `{name}` runs one server, so it has no racks to place"),
                    "remove `racks`, or set `ha = true` for a replicated instance",
                );
            }
            for (field, value, wanted) in [
                ("masters", s.masters.to_string(), "1"),
                ("filers", s.filers.to_string(), "1"),
                ("replication", s.replication.clone(), "000"),
            ] {
                if value != wanted {
                    c.error(
                        &path(field),
                        format!("non-HA instance `{name}` runs one server, so `{field}` must be {wanted}, not {value}"),
                        "set `ha = true` for a replicated instance",
                    );
                }
            }
        }
    }

    // Buckets are derived, so they can only go wrong through the names they are made of.
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for bucket in buckets::of_platform(p) {
        if !is_bucket_name(&bucket.name) {
            c.name_error(
                &["environments", &bucket.environment],
                format!(
                    "bucket `{}` of environment `{}` is not a valid S3 bucket name",
                    bucket.name, bucket.environment
                ),
                "S3 names are 3 to 63 lowercase letters, digits and '-': shorten the environment name",
            );
        }
        if let Some(other) = seen.insert(bucket.name.clone(), bucket.environment.clone()) {
            c.error(
                &["environments", &bucket.environment],
                format!(
                    "bucket `{}` is derived twice (environments {})",
                    bucket.name,
                    and_list(&[other, bucket.environment.clone()])
                ),
                "environment names must differ",
            );
        }
    }
}

/// An HA instance's racks are failure domains only if each is pinned to nodes of a zone no other
/// rack uses: the renderer turns every rack into a required node affinity on `zone_label`, and
/// SeaweedFS puts a replica "on another rack" trusting that the rack is another place.
fn racks_in_zones(c: &mut Checker, name: &str, s: &StorageInstance) {
    if s.racks.is_empty() {
        c.error(
            &["storage", name, "racks"],
            format!("HA instance `{name}` has no racks, so no volume server"),
            "list one rack per zone, e.g. `racks = { rack1 = \"zone-a\", rack2 = \"zone-b\", rack3 = \"zone-c\" }`",
        );
    }
    if !is_label_key(&s.zone_label) {
        c.error(
            &["storage", name, "zone_label"],
            format!("zone label `{}` of `{name}` is not a Kubernetes label key", s.zone_label),
            "write a node label key such as `topology.kubernetes.io/zone`",
        );
    }
    let mut zones: BTreeMap<&str, &str> = BTreeMap::new();
    for (rack, zone) in &s.racks {
        if !is_dns_label(rack) {
            c.name_error(
                &["storage", name, "racks", rack],
                format!("rack name `{rack}` of `{name}` is not a DNS-1123 label (it names a StatefulSet)"),
                DNS_LABEL_HELP,
            );
        }
        if zone.is_empty() || !is_label_value(zone) {
            c.error(
                &["storage", name, "racks", rack],
                format!("zone `{zone}` of rack `{rack}` of `{name}` is not a value of node label `{}`", s.zone_label),
                format!("write the `{}` value of the nodes this rack may run on: {LABEL_VALUE_HELP}", s.zone_label),
            );
        } else if let Some(first) = zones.get(zone.as_str()) {
            c.error(
                &["storage", name, "racks", rack],
                format!(
                    "racks `{first}` and `{rack}` of HA instance `{name}` are both in zone `{zone}`: losing that zone loses both copies"
                ),
                format!("give each rack a zone of its own (a different `{}` value)", s.zone_label),
            );
        } else {
            zones.insert(zone, rack);
        }
    }
}

/// A Kubernetes label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63
/// letters, digits, '-', '_' or '.', starting and ending with a letter or digit.
fn is_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !part.starts_with('-')
                    && !part.ends_with('-')
            })
    });
    prefix_ok && !name.is_empty() && is_label_value(name)
}

#[cfg(test)]
mod tests {
    use super::is_label_key;

    #[test]
    fn label_keys() {
        assert!(is_label_key("topology.kubernetes.io/zone"));
        assert!(is_label_key("kubernetes.io/hostname"));
        assert!(is_label_key("rack"));
        assert!(!is_label_key("topology.kubernetes.io/"));
        assert!(!is_label_key("/zone"));
        assert!(!is_label_key("a/b/c"));
        assert!(!is_label_key("Topology.io/zone"));
        assert!(!is_label_key("zone name"));
    }
}
