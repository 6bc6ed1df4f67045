//! Grafana: where it runs, what it serves, how it scales, its role mapping, and that every
//! datasource link and every dashboard's datasource names a datasource it provisions.

use std::collections::{BTreeMap, BTreeSet};

use super::{and_list, Checker};
use crate::diag::{field_path, Diagnostic, Location};
use crate::facts::datasources::{self, About, DatasourceId, MAX_UID};
use crate::model::Grafana;
use crate::names::is_dns_label;

pub(super) fn check(c: &mut Checker) {
    let p = c.platform;
    let mut homes: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, g) in &p.grafana {
        let name = name.as_str();
        if !is_dns_label(name) {
            c.name_error(
                &["grafana", name],
                format!("Grafana name `{name}` is not a DNS-1123 label"),
                crate::names::DNS_LABEL_HELP,
            );
        }
        placement(c, name, g, &mut homes);
        scaling(c, name, g);
        role_mapping(c, name, g);
        if !is_host_name(&g.hostname) {
            c.error(
                &["grafana", name, "hostname"],
                format!("Grafana `{name}`'s hostname `{}` is not a DNS host name", g.hostname),
                "write lowercase DNS labels separated by dots, e.g. grafana.apps.example.org",
            );
        }
        links(c, name, g);
    }
}

fn is_host_name(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// Grafana's namespace belongs to its target; its environments exist, on the same kind of
/// cluster.
fn placement<'a>(c: &mut Checker, name: &'a str, g: &'a Grafana, homes: &mut BTreeMap<&'a str, &'a str>) {
    let p = c.platform;
    let target = p.targets.get(&g.target);
    if target.is_none() {
        let known: Vec<&String> = p.targets.keys().collect();
        c.error(
            &["grafana", name, "target"],
            format!("Grafana `{name}` renders into target `{}`, which is not declared", g.target),
            format!("declare it under `targets` (declared: {})", and_list(&known)),
        );
    }
    if let Some(other) = homes.insert(&g.namespace, name) {
        c.error(
            &["grafana", name, "namespace"],
            format!("Grafanas `{other}` and `{name}` both run in namespace `{}`", g.namespace),
            "run one Grafana per namespace: their objects share names",
        );
    }
    if p.namespaces.contains_key(&g.namespace) {
        c.error(
            &["grafana", name, "namespace"],
            format!("Grafana `{name}` runs in managed namespace `{}`", g.namespace),
            "run Grafana in a monitoring namespace or one of its own; managed namespaces belong to their teams",
        );
    }
    for (env_name, env) in &p.environments {
        if env.monitoring_namespace == g.namespace && env.target(env_name) != g.target {
            c.error(
                &["grafana", name, "target"],
                format!(
                    "Grafana `{name}` runs in `{}`, the monitoring namespace of environment `{env_name}`, which renders into target `{}`",
                    g.namespace,
                    env.target(env_name)
                ),
                format!("a namespace renders into one target: set `target = \"{}\"`", env.target(env_name)),
            );
        }
    }
    let mut seen = BTreeSet::new();
    for (i, environment) in g.environments.iter().enumerate() {
        let index = i.to_string();
        let path = ["grafana", name, "environments", index.as_str()];
        if !seen.insert(environment) {
            c.error(&path, format!("Grafana `{name}` lists environment `{environment}` twice"), "list it once");
            continue;
        }
        let Some(env) = p.environments.get(environment) else {
            let known: Vec<&String> = p.environments.keys().collect();
            c.error(
                &path,
                format!("Grafana `{name}` serves environment `{environment}`, which does not exist"),
                format!("use one of {}", and_list(&known)),
            );
            continue;
        };
        let env_target = env.target(environment);
        let tenancy = |t: &str| p.targets.get(t).map(|t| t.tenancy);
        if let (Some(theirs), Some(ours)) = (tenancy(env_target), target.map(|t| t.tenancy)) {
            if theirs != ours {
                c.error(
                    &path,
                    format!(
                        "Grafana `{name}` of target `{}` cannot reach environment `{environment}` of target `{env_target}`: they are different clusters",
                        g.target
                    ),
                    "serve only environments of the Grafana's own cluster; give the other cluster its own Grafana",
                );
            }
        }
    }
}

fn scaling(c: &mut Checker, name: &str, g: &Grafana) {
    let r = &g.replicas;
    if r.min > r.max {
        c.error(
            &["grafana", name, "replicas", "min"],
            format!(
                "Grafana `{name}` scales between {} and {} replicas: the minimum is above the maximum",
                r.min, r.max
            ),
            format!("raise `replicas.max` to at least {} or lower `replicas.min`", r.min),
        );
    }
    if r.min < 2 {
        c.error(
            &["grafana", name, "replicas", "min"],
            format!("Grafana `{name}` may scale down to {} replica; it would not be highly available", r.min),
            "set `replicas.min` to 2 or more: every replica serves every user from the shared database",
        );
    }
    if !(1..=100).contains(&r.cpu_target_percent) {
        c.error(
            &["grafana", name, "replicas", "cpu_target_percent"],
            format!("Grafana `{name}` targets {}% CPU", r.cpu_target_percent),
            "use a percentage of the CPU request from 1 to 100 (75 is a good start)",
        );
    }
}

/// Two mappings for one Keycloak role: the second could never apply.
fn role_mapping(c: &mut Checker, name: &str, g: &Grafana) {
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, m) in g.keycloak.role_mapping.iter().enumerate() {
        if let Some(before) = first.insert(&m.keycloak_role, i) {
            let index = i.to_string();
            c.error(
                &["grafana", name, "keycloak", "role_mapping", index.as_str(), "keycloak_role"],
                format!(
                    "Keycloak role `{}` is mapped twice in Grafana `{name}` (entries {} and {})",
                    m.keycloak_role,
                    before + 1,
                    i + 1
                ),
                "the first mapping always wins: keep one",
            );
            first.insert(&m.keycloak_role, before);
        }
    }
}

/// UIDs are unique, and every datasource a dashboard file names is provisioned. (The links
/// between datasources and the generated dashboards are derived from the same list; the plan
/// check proves they resolve.)
fn links(c: &mut Checker, name: &str, g: &Grafana) {
    let p = c.platform;
    let all = datasources::of_grafana(p, g);
    let mut by_uid: BTreeMap<&str, &DatasourceId> = BTreeMap::new();
    for d in &all {
        if let Some(first) = by_uid.insert(&d.uid, d) {
            let path: Vec<&str> = match &d.about {
                About::Thanos(ns) => vec!["namespaces", ns],
                About::Backend(_, env) => vec!["environments", env],
            };
            c.name_error(
                &path,
                format!(
                    "datasource UID `{}` of Grafana `{name}` is derived twice: `{}` and `{}`",
                    d.uid, first.name, d.name
                ),
                format!("Grafana cuts UIDs at {MAX_UID} characters: make the names differ earlier"),
            );
            by_uid.insert(&first.uid, first);
        }
    }
    let names: BTreeSet<&str> = all.iter().map(|d| d.name.as_str()).collect();
    let Some(dir) = &g.dashboards.directory else { return };
    for board in c.dashboards.get(dir).into_iter().flatten() {
        for r in &board.references {
            let t = r.target.as_str();
            if by_uid.contains_key(t) || names.contains(t) {
                continue;
            }
            let field = ["grafana", name, "dashboards", "directory"];
            let d = Diagnostic::error(format!(
                "dashboard `{}` uses datasource `{t}`, which Grafana `{name}` does not provision",
                board.source
            ))
            .help(format!(
                "use a provisioned UID ({}) or a datasource variable such as `${{datasource}}`",
                provisioned_examples(&all)
            ))
            .at(Some(Location { file: board.source.clone(), line: r.line, column: r.column }), field_path(&field));
            c.found.push(d);
        }
    }
}

fn provisioned_examples(all: &[DatasourceId]) -> String {
    let mut uids: Vec<&str> = all.iter().map(|d| d.uid.as_str()).collect();
    let more = uids.len().saturating_sub(4);
    uids.truncate(4);
    let mut out = uids.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ");
    if more > 0 {
        out.push_str(&format!(" and {more} more"));
    }
    out
}
