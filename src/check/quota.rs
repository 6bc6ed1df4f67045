//! Quotas as written: every size a quota names is declared, and every namespace `quota.namespaces`
//! names is one obsc renders into. Whether the plan fits them is `crate::budget`'s to judge, on
//! the rendered objects.

use super::{and_list, Checker};
use crate::facts::placement;

pub(super) fn check(c: &mut Checker) {
    let Some(quota) = &c.platform.quota else { return };
    let sizes: Vec<&String> = quota.sizes.keys().collect();
    let rendered = placement::of_platform(c.platform);
    let roles = [
        ("monitoring", &quota.roles.monitoring),
        ("storage", &quota.roles.storage),
        ("grafana", &quota.roles.grafana),
        ("managed", &quota.roles.managed),
    ];
    let declared = roles
        .iter()
        .filter_map(|(role, q)| q.as_ref().map(|q| (vec!["quota", "roles", *role], q)))
        .chain(quota.namespaces.iter().map(|(ns, q)| (vec!["quota", "namespaces", ns.as_str()], q)));
    let mut unknown_sizes = Vec::new();
    for (path, q) in declared {
        if let Some(size) = q.size.as_ref().filter(|s| !quota.sizes.contains_key(*s)) {
            let mut at = path.clone();
            at.push("size");
            unknown_sizes.push((at.iter().map(|s| s.to_string()).collect::<Vec<_>>(), size.clone()));
        }
    }
    for (path, size) in unknown_sizes {
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        c.error(
            &path,
            format!("quota size `{size}` is not one of `quota.sizes`"),
            format!("name one of {} or declare `quota.sizes.{size}`", and_list(&sizes)),
        );
    }
    for ns in quota.namespaces.keys() {
        if !rendered.contains_key(ns) {
            c.name_error(
                &["quota", "namespaces", ns],
                format!("`quota.namespaces` names `{ns}`, a namespace obsc renders nothing into"),
                "name a namespace of the platform (an environment's monitoring namespace, a storage instance's, a Grafana's or a managed one), or remove the entry",
            );
        }
    }
}
