//! Retention tiers: a default that exists, periods Loki can enforce, names usable as stream
//! labels, and every tier a namespace or environment names declared.

use super::{and_list, Checker};
use crate::names::{is_label_value, LABEL_VALUE_HELP};
use crate::period::Period;

pub(super) fn check(c: &mut Checker) {
    let p = c.platform;
    let tiers = &p.retention.tiers;
    if !tiers.contains_key(&p.retention.default_tier) {
        unknown_tier(c, &["retention", "default_tier"], &p.retention.default_tier);
    }
    for (name, tier) in tiers {
        if !is_label_value(name) {
            c.name_error(
                &["retention", "tiers", name],
                format!("retention tier name `{name}` is not a valid label value"),
                LABEL_VALUE_HELP,
            );
        }
        period(c, &["retention", "tiers", name, "period"], &tier.period, name);
    }
    for (env_name, env) in &p.environments {
        for (tier, value) in &env.retention {
            let path = ["environments", env_name, "retention", tier];
            if tiers.contains_key(tier) {
                period(c, &path, value, tier);
            } else {
                unknown_tier(c, &path, tier);
            }
        }
    }
    for (ns_name, ns) in &p.namespaces {
        if let Some(tier) = &ns.default_tier {
            if !tiers.contains_key(tier) {
                unknown_tier(c, &["namespaces", ns_name, "default_tier"], tier);
            }
        }
    }
}

fn unknown_tier(c: &mut Checker, path: &[&str], tier: &str) {
    let known: Vec<&String> = c.platform.retention.tiers.keys().collect();
    c.error(path, format!("retention tier `{tier}` does not exist"), format!("use one of {}", and_list(&known)));
}

/// Loki applies retention per 24h index period and not below it.
fn period(c: &mut Checker, path: &[&str], value: &Period, tier: &str) {
    if !value.is_whole_days() {
        c.error(
            path,
            format!("retention period `{value}` of tier `{tier}` is not a whole number of days"),
            "Loki applies retention per 24h index period: use at least 24h and a multiple of 24h",
        );
    }
}
