//! Names that become Kubernetes names, and which namespace belongs to which target.

use std::collections::BTreeMap;

use super::{and_list, Checker};
use crate::names::{is_dns_label, DNS_LABEL_HELP};

pub(super) fn check(c: &mut Checker) {
    let p = c.platform;
    for name in p.targets.keys() {
        label(c, &["targets", name], "target");
    }
    for name in p.environments.keys() {
        label(c, &["environments", name], "environment");
    }
    for name in p.storage.keys() {
        label(c, &["storage", name], "storage instance");
    }
    for name in p.namespaces.keys() {
        label(c, &["namespaces", name], "namespace");
    }

    // A cluster's DNS runs in a namespace of its own: one that obsc owns starts from deny-all,
    // which would refuse every pod's name lookups.
    let placement = crate::facts::placement::of_platform(p);
    for (name, target) in &p.targets {
        let dns = &target.cluster_dns.namespace;
        if let Some(place) = placement.get(dns).filter(|place| place.role.owned() && place.target == *name) {
            c.error(
                &["targets", name, "cluster_dns", "namespace"],
                format!(
                    "target `{name}` resolves names in `{dns}`, but obsc owns that namespace ({}) and denies all traffic there",
                    place.role.what()
                ),
                "name the namespace where the cluster's DNS pods run: `openshift-dns` on OpenShift, `kube-system` on kind",
            );
        }
    }

    // Instances sharing a namespace name their objects `<instance>-<role>`: an instance called
    // `<other>-<something>` would collide with its neighbour's objects.
    for (name, instance) in &p.storage {
        for (other, neighbour) in &p.storage {
            if other != name && neighbour.namespace == instance.namespace && name.starts_with(&format!("{other}-")) {
                c.name_error(
                    &["storage", name],
                    format!(
                        "storage instance `{name}` shares namespace `{}` with `{other}`, whose objects are named `{other}-...`",
                        instance.namespace
                    ),
                    format!("rename `{name}` so it does not start with `{other}-`, or give it its own namespace"),
                );
            }
        }
    }

    // Every namespace renders into exactly one target and plays one role there, so that the
    // objects obsc puts in it never collide with another role's.
    let mut owners: BTreeMap<&str, Vec<Owner>> = BTreeMap::new();
    for (name, env) in &p.environments {
        if !is_dns_label(&env.monitoring_namespace) {
            c.error(
                &["environments", name, "monitoring_namespace"],
                format!("monitoring namespace `{}` is not a DNS-1123 label", env.monitoring_namespace),
                DNS_LABEL_HELP,
            );
        }
        let target = env.target(name);
        let target_path: &[&str] =
            if env.target.is_some() { &["environments", name, "target"] } else { &["environments", name] };
        declared_target(c, target, target_path, &format!("environment `{name}`"));
        owners.entry(&env.monitoring_namespace).or_default().push(Owner {
            role: format!("the monitoring namespace of environment `{name}`"),
            target: Some(target),
            path: vec!["environments", name, "monitoring_namespace"],
            shareable: false,
        });
    }
    for (name, instance) in &p.storage {
        declared_target(c, &instance.target, &["storage", name, "target"], &format!("storage instance `{name}`"));
        // Storage instances prefix their objects with their own name, so several may share one
        // namespace.
        owners.entry(&instance.namespace).or_default().push(Owner {
            role: format!("the namespace of storage instance `{name}`"),
            target: Some(&instance.target),
            path: vec!["storage", name, "namespace"],
            shareable: true,
        });
    }
    for (name, ns) in &p.namespaces {
        // An unknown environment has no target; `routing` reports it.
        let target = p.environments.get(&ns.environment).map(|e| e.target(&ns.environment));
        owners.entry(name).or_default().push(Owner {
            role: "a managed namespace".to_string(),
            target,
            path: vec!["namespaces", name],
            shareable: false,
        });
    }
    for (namespace, claims) in owners {
        if claims.len() < 2 {
            continue;
        }
        let targets: Vec<&str> = {
            let mut t: Vec<&str> = claims.iter().filter_map(|o| o.target).collect();
            t.sort();
            t.dedup();
            t
        };
        let exclusive = claims.iter().any(|o| !o.shareable);
        if let (true, Some(last)) = (targets.len() > 1 || exclusive, claims.last()) {
            let roles: Vec<String> = claims.iter().map(|o| o.role.clone()).collect();
            c.error(
                &last.path,
                format!("namespace `{namespace}` is claimed twice: {}", roles.join(" and ")),
                "give each environment, managed namespace and target its own namespace",
            );
        }
    }
}

struct Owner<'a> {
    role: String,
    /// The target it renders into; none for a managed namespace of an unknown environment.
    target: Option<&'a str>,
    path: Vec<&'a str>,
    shareable: bool,
}

fn label(c: &mut Checker, path: &[&str], what: &str) {
    let name = path[path.len() - 1];
    if !is_dns_label(name) {
        c.name_error(path, format!("{what} name `{name}` is not a DNS-1123 label"), DNS_LABEL_HELP);
    }
}

fn declared_target(c: &mut Checker, target: &str, path: &[&str], what: &str) {
    if !c.platform.targets.contains_key(target) {
        let known: Vec<&String> = c.platform.targets.keys().collect();
        c.error(
            path,
            format!("{what} renders into target `{target}`, which is not declared"),
            format!("declare it under `targets` (declared: {})", and_list(&known)),
        );
    }
}
