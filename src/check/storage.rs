//! Storage: which environment may use which instance, the HA invariants of an instance, and
//! the buckets derived from the topology.

use std::collections::BTreeMap;

use super::{and_list, Checker};
use crate::buckets;
use crate::names::is_bucket_name;

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
                if s.racks < racks + 1 {
                    c.error(
                        &path("racks"),
                        format!(
                            "replication `{}` of `{name}` puts copies on {} racks, but the instance has {}",
                            s.replication,
                            racks + 1,
                            s.racks
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
        } else {
            // One `weed server` process: one of everything, nothing to replicate to.
            for (field, value, wanted) in [
                ("masters", s.masters.to_string(), "1"),
                ("racks", s.racks.to_string(), "1"),
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
