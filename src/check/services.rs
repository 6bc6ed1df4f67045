//! Application services: names, Faro settings that can work, and backends for what they opt in to.

use super::Checker;
use crate::names::otel_config_map;
use crate::names::{is_dns_label, Backend, DNS_LABEL_HELP};

pub(super) fn check(c: &mut Checker) {
    let p = c.platform;
    let faro_port = p.collector.ports.faro;
    for (ns_name, ns) in &p.namespaces {
        let Some(env) = p.environments.get(&ns.environment) else { continue };
        for (name, svc) in &ns.services {
            let at = |field: &'static str| ["namespaces", ns_name.as_str(), "services", name.as_str(), field];
            let here = ["namespaces", ns_name.as_str(), "services", name.as_str()];
            if !is_dns_label(name) || !is_dns_label(&otel_config_map(name)) {
                c.name_error(
                    &here,
                    format!("service name `{name}` is not a DNS-1123 label of at most 58 characters"),
                    format!("its ConfigMap is `otel-<name>`: {DNS_LABEL_HELP}"),
                );
            }
            let faro = &svc.faro;
            if faro.proxy.enabled {
                let proxy = ["namespaces", ns_name.as_str(), "services", name.as_str(), "faro", "proxy"];
                if !faro.enabled {
                    c.error(
                        &[&proxy[..], &["enabled"]].concat(),
                        format!("service `{name}` proxies Faro but has `faro.enabled = false`"),
                        "set `faro.enabled = true`, or switch the proxy off",
                    );
                }
                let allowed = [
                    format!("http://alloy:{faro_port}"),
                    format!("http://alloy.{ns_name}.svc:{faro_port}"),
                    format!("http://alloy.{ns_name}.svc.cluster.local:{faro_port}"),
                ];
                if !allowed.iter().any(|a| a == faro.proxy.upstream_url.trim_end_matches('/')) {
                    let got = if faro.proxy.upstream_url.is_empty() {
                        "no upstream URL".to_string()
                    } else {
                        format!("upstream `{}`", faro.proxy.upstream_url)
                    };
                    c.error(
                        &[&proxy[..], &["upstreamUrl"]].concat(),
                        format!("service `{name}` proxies Faro to {got}, not to its namespace's collector"),
                        format!("set `faro.proxy.upstreamUrl = \"{}\"`", allowed[0]),
                    );
                }
                if !faro.proxy.path.starts_with('/') {
                    c.error(
                        &[&proxy[..], &["path"]].concat(),
                        format!("Faro proxy path `{}` of service `{name}` does not start with `/`", faro.proxy.path),
                        "write an absolute path on the service's own origin, e.g. `/faro`",
                    );
                }
            } else if faro.enabled {
                let faro_path = ["namespaces", ns_name.as_str(), "services", name.as_str(), "faro", "collectorUrl"];
                if !faro.collector_url.starts_with("https://") || faro.collector_url.len() <= "https://".len() {
                    c.error(
                        &faro_path,
                        format!(
                            "service `{name}` sends Faro without the proxy, so it needs a public https `collectorUrl`"
                        ),
                        "set `faro.collectorUrl` to the https endpoint the team exposes, or enable `faro.proxy`",
                    );
                }
                if svc.public_url.is_none() {
                    c.error(
                        &here,
                        format!(
                            "service `{name}` sends Faro from the browser but has no `public_url` to allow in CORS"
                        ),
                        "set `public_url` to the origin the browser loads the service from",
                    );
                }
            }
            if faro.enabled && !(env.has(Backend::Tempo) && ns.signals(env).traces) {
                c.error(
                    &at("faro"),
                    format!(
                        "service `{name}` sends browser traces, but namespace `{ns_name}` sends no traces to a Tempo"
                    ),
                    format!("give environment `{}` a Tempo and keep `signals.traces` on", ns.environment),
                );
            }
            if svc.profiling && !env.has(Backend::Pyroscope) {
                c.error(
                    &at("profiling"),
                    format!("service `{name}` sends profiles, but environment `{}` has no Pyroscope", ns.environment),
                    format!("add `pyroscope = {{}}` to environment `{}` or set `profiling = false`", ns.environment),
                );
            }
        }
    }
}
