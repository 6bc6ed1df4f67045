//! Grafana: where it runs, what it serves, how it scales, its role mapping, and that every
//! datasource link and every dashboard's datasource names a datasource it provisions.

use std::collections::{BTreeMap, BTreeSet};

use super::{and_list, Checker};
use crate::diag::{field_path, Diagnostic, Location};
use crate::facts::datasources::{self, About, DatasourceId, MAX_UID};
use crate::facts::placement;
use crate::model::{url_authority, Dependency, Endpoint, Grafana};
use crate::names::{is_dns_label, is_label_value, LABEL_VALUE_HELP};

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
        endpoints(c, name, g);
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

/// Where each service Grafana dials runs, said so that a NetworkPolicy can allow exactly it: an
/// in-cluster endpoint names its pods, an outside one its addresses. An in-cluster endpoint in a
/// namespace obsc does not own is fine: `obsc owner-policies` lists what its owner must apply.
fn endpoints(c: &mut Checker, name: &str, g: &Grafana) {
    let places = placement::of_platform(c.platform);
    let tenancy = c.platform.targets.get(&g.target).map(|t| t.tenancy);
    for (dependency, endpoint) in g.endpoints() {
        let what = dependency.title();
        let field = dependency.field();
        match endpoint {
            Endpoint::InCluster(e) => {
                let at = ["grafana", name, field, "endpoint", "in_cluster"];
                let ns = e.namespace.as_str();
                if e.pod_labels.is_empty() {
                    c.error(
                        &[&at[..], &["pod_labels"]].concat(),
                        format!("the {what} of Grafana `{name}` selects its pods with no labels"),
                        format!(
                            "name labels only its pods carry (see `oc -n {ns} get pods --show-labels`): an empty selector \
                             means every pod of `{ns}`, and the policies would open all of them to Grafana"
                        ),
                    );
                }
                for (key, value) in &e.pod_labels {
                    let path = [&at[..], &["pod_labels", key.as_str()]].concat();
                    if !is_label_key(key) {
                        c.name_error(
                            &path,
                            format!("`{key}` in the pod labels of Grafana `{name}`'s {what} is not a label key"),
                            "write `name` or `prefix/name`: a DNS subdomain, '/', then at most 63 letters, digits, '-', '_' or '.'",
                        );
                    } else if !is_label_value(value) {
                        c.error(
                            &path,
                            format!("`{value}` in the pod labels of Grafana `{name}`'s {what} is not a label value"),
                            LABEL_VALUE_HELP,
                        );
                    }
                }
                if let Some(other) = service_namespace(&e.host).filter(|other| *other != ns) {
                    c.error(
                        &[&at[..], &["host"]].concat(),
                        format!(
                            "Grafana `{name}` dials its {what} at `{}`, a Service of namespace `{other}`, but the endpoint's namespace is `{ns}`",
                            e.host
                        ),
                        format!("the policies select pods of `namespace`: set `namespace = \"{other}\"`, or dial a Service of `{ns}`"),
                    );
                }
                let place = places.get(ns);
                let theirs = place.and_then(|p| c.platform.targets.get(&p.target)).map(|t| t.tenancy);
                if let (Some(place), Some(theirs), Some(ours)) = (place, theirs, tenancy) {
                    if theirs != ours {
                        c.error(
                            &[&at[..], &["namespace"]].concat(),
                            format!(
                                "the {what} of Grafana `{name}` (target `{}`) is in namespace `{ns}` of target `{}`: they are different clusters",
                                g.target, place.target
                            ),
                            "an in-cluster endpoint runs in Grafana's own cluster; a service elsewhere is `outside`, by address",
                        );
                    }
                }
            }
            Endpoint::Outside(e) => {
                let at = ["grafana", name, field, "endpoint", "outside"];
                match &e.cidr {
                    None => c.error(
                        &at,
                        format!("the {what} of Grafana `{name}` is outside the cluster and has no `cidr`"),
                        format!(
                            "write the addresses `{}` resolves to, e.g. `cidr = \"203.0.113.10/32\"`: Grafana's egress allows \
                             only them (obsc never opens 0.0.0.0/0 by itself); a service in this cluster is `in_cluster` instead",
                            e.host
                        ),
                    ),
                    Some(cidr) => {
                        if let Err(help) = check_cidr(cidr) {
                            c.error(
                                &[&at[..], &["cidr"]].concat(),
                                format!("`{cidr}`, the `cidr` of Grafana `{name}`'s {what}, is not a network address block"),
                                help,
                            );
                        }
                    }
                }
            }
        }
        if dependency == Dependency::Keycloak {
            if let Some((host, port)) = url_authority(&g.keycloak.realm_url) {
                if host != endpoint.host() || port != endpoint.port() {
                    c.error(
                        &["grafana", name, field, "endpoint"],
                        format!(
                            "Grafana `{name}` calls Keycloak at `{host}:{port}` (its `realm_url`), but the endpoint says `{}`",
                            endpoint.address()
                        ),
                        "the NetworkPolicy allows the endpoint: give it the realm URL's host and port",
                    );
                }
            }
        }
    }
}

/// The namespace of a Service host name (`svc.ns.svc`, `svc.ns.svc.cluster.local`).
fn service_namespace(host: &str) -> Option<&str> {
    let host = host.strip_suffix(".cluster.local").unwrap_or(host);
    let mut parts = host.strip_suffix(".svc")?.split('.');
    let (_service, namespace) = (parts.next()?, parts.next()?);
    parts.next().is_none().then_some(namespace)
}

/// A Kubernetes label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63
/// characters.
fn is_label_key(key: &str) -> bool {
    let (prefix, name) = key.rsplit_once('/').map_or((None, key), |(p, n)| (Some(p), n));
    let prefix_ok = prefix.is_none_or(|p| p.len() <= 253 && p.split('.').all(is_dns_label));
    prefix_ok && !name.is_empty() && is_label_value(name)
}

/// An IPv4 or IPv6 CIDR with no host bits set (a set bit usually means a mistyped prefix).
fn check_cidr(cidr: &str) -> Result<(), String> {
    let usage = "write an address block such as `203.0.113.0/24` or `2001:db8::/32`";
    let Some((address, prefix)) = cidr.split_once('/') else {
        return Err(format!("{usage}; a single address is `/32` (IPv4) or `/128` (IPv6)"));
    };
    let (Ok(address), Ok(prefix)) = (address.parse::<std::net::IpAddr>(), prefix.parse::<u32>()) else {
        return Err(usage.to_string());
    };
    let (bits, width): (u128, u32) = match address {
        std::net::IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        std::net::IpAddr::V6(a) => (u128::from(a), 128),
    };
    if prefix > width {
        return Err(format!("{usage}; the prefix length is at most {width}"));
    }
    // The low `width - prefix` bits; shifted without overflow for every prefix, `/0` included.
    let all = u128::MAX >> (128 - width);
    let host_bits = all.checked_shr(prefix).unwrap_or(0);
    if bits & host_bits != 0 {
        let network = bits & !host_bits;
        let network = match address {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::from(network as u32).to_string(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::from(network).to_string(),
        };
        return Err(format!("the address has bits set past the prefix: did you mean `{network}/{prefix}`?"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        assert!(check_cidr("203.0.113.0/24").is_ok());
        assert!(check_cidr("10.1.2.3/32").is_ok());
        assert!(check_cidr("0.0.0.0/0").is_ok());
        assert!(check_cidr("2001:db8::/32").is_ok());
        assert!(check_cidr("10.1.2.3").unwrap_err().contains("/32"));
        assert!(check_cidr("10.1.2.0/33").unwrap_err().contains("at most 32"));
        assert!(check_cidr("10.1.2.3/24").unwrap_err().contains("`10.1.2.0/24`"));
        assert!(check_cidr("2001:db8::1/32").unwrap_err().contains("`2001:db8::/32`"));
        assert!(check_cidr("sso.example.org/32").is_err());
        // Every prefix length, the whole address space included (`/0` once overflowed a shift).
        assert!(check_cidr("::/0").is_ok());
        assert!(check_cidr("::1/128").is_ok());
        assert!(check_cidr("::1/0").unwrap_err().contains("`::/0`"));
        assert!(check_cidr("0.0.0.1/0").unwrap_err().contains("`0.0.0.0/0`"));
    }

    #[test]
    fn service_hosts_name_their_namespace() {
        assert_eq!(service_namespace("pg.ca7f8f-tools.svc"), Some("ca7f8f-tools"));
        assert_eq!(service_namespace("pg.tools.svc.cluster.local"), Some("tools"));
        assert_eq!(service_namespace("pg.example.org"), None);
        assert_eq!(service_namespace("a.b.c.svc"), None);
    }

    #[test]
    fn label_keys() {
        assert!(is_label_key("app.kubernetes.io/name"));
        assert!(is_label_key("role"));
        assert!(!is_label_key("app.kubernetes.io/"));
        assert!(!is_label_key("Bad_Prefix/name"));
        assert!(!is_label_key("-x"));
    }
}
