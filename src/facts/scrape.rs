//! Scraping: the pods the cluster's monitoring stack reads metrics from, and on which port. One
//! list for the PodMonitors (`render::monitoring`), for the flows that open the ports
//! (`render::flows`) and so for the policies the flows derive. Every component serves
//! Prometheus metrics at `/metrics` on its HTTP port: Alloy on `--server.http.listen-addr`,
//! Loki, Tempo, Mimir and Pyroscope on their `http_listen_port` (dskit's server), Grafana on its
//! `http_port` (`[metrics] enabled` is on by default), SeaweedFS on its `-metricsPort`.

use super::addresses::{collector, grafana, loki, mimir, pyroscope, seaweedfs, tempo, Labels};
use crate::model::Platform;
use crate::names::Backend;

/// Where every component serves its metrics.
pub const PATH: &str = "/metrics";

/// What a PodMonitor scrapes, as the topology names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Component {
    /// The collector of a managed namespace.
    Collector,
    /// A backend of an environment.
    Backend(Backend, String),
    Grafana(String),
    /// A storage instance (one PodMonitor per role).
    Storage(String),
}

/// The pods of one component in one namespace that one PodMonitor scrapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scraped {
    pub component: Component,
    /// The target the namespace renders into, whose `scrape.namespace` scrapes.
    pub target: String,
    pub namespace: String,
    /// The PodMonitor's name.
    pub name: String,
    /// Exactly the pods of the component's own NetworkPolicy, so the flow opens it there.
    pub pods: Labels,
    /// The container port's name and number.
    pub port_name: &'static str,
    pub port: u16,
}

impl Scraped {
    /// The `job` label of its targets' series.
    pub fn job(&self) -> String {
        job(&self.namespace, &self.name)
    }
}

/// The `job` of the targets of PodMonitor `name` in `namespace`: the Prometheus Operator writes
/// `<namespace>/<name>` (pkg/prometheus/promcfg.go, generatePodMonitorConfig).
pub fn job(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// Every component obsc renders, on a target whose monitoring stack scrapes (`scrape.enabled`).
pub fn of_platform(p: &Platform) -> Vec<Scraped> {
    let mut out = Vec::new();
    let scraped = |target: &str| p.targets.get(target).is_some_and(|t| t.scrape.enabled);
    let mut add = |component: Component,
                   target: &str,
                   namespace: &str,
                   name: &str,
                   pods: Labels,
                   port_name: &'static str,
                   port: u16| {
        if scraped(target) {
            out.push(Scraped {
                component,
                target: target.to_string(),
                namespace: namespace.to_string(),
                name: name.to_string(),
                pods,
                port_name,
                port,
            });
        }
    };
    for (ns_name, ns) in &p.namespaces {
        if let Some(env) = p.environments.get(&ns.environment) {
            let target = env.target(&ns.environment);
            let name = crate::names::object::COLLECTOR;
            add(Component::Collector, target, ns_name, name, collector::pods(), "http", p.collector.ports.http);
        }
    }
    for (env_name, env) in &p.environments {
        let (target, ns) = (env.target(env_name), env.monitoring_namespace.as_str());
        let backend = |b: Backend| Component::Backend(b, env_name.clone());
        add(backend(Backend::Loki), target, ns, "loki", loki::ring(env_name), "http", loki::HTTP_PORT);
        if env.tempo.is_some() {
            add(backend(Backend::Tempo), target, ns, "tempo", tempo::pods(env_name), "http", tempo::HTTP_PORT);
        }
        if env.mimir.is_some() {
            add(backend(Backend::Mimir), target, ns, "mimir", mimir::pods(env_name), "http", mimir::HTTP_PORT);
        }
        if env.pyroscope.is_some() {
            let pods = pyroscope::pods(env_name);
            add(backend(Backend::Pyroscope), target, ns, "pyroscope", pods, "http", pyroscope::HTTP_PORT);
        }
    }
    for (name, g) in &p.grafana {
        let component = Component::Grafana(name.clone());
        add(
            component,
            &g.target,
            &g.namespace,
            &format!("grafana-{name}"),
            grafana::pods(name),
            "http",
            grafana::HTTP_PORT,
        );
    }
    for (name, storage) in &p.storage {
        // Each server role (not the bucket Job, which serves nothing).
        let roles: &[&str] = if storage.ha { &["master", "volume", "filer", "s3"] } else { &["server"] };
        for role in roles {
            add(
                Component::Storage(name.clone()),
                &storage.target,
                &storage.namespace,
                &format!("{name}-{role}"),
                seaweedfs::role_pods(name, role),
                "metrics",
                seaweedfs::METRICS_PORT,
            );
        }
    }
    out
}
