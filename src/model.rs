//! The typed topology: what the Nickel platform evaluates to, as Rust values.
//!
//! The shapes mirror the contracts in `modules/`; every struct rejects unknown fields, so a
//! field the contracts let through but obsc does not know is an error, not silently dropped.
//! Defaults live in the Nickel contracts; the few that depend on another value (an
//! environment's target is its name) are methods here.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::names::{Backend, Signal};
use crate::period::Period;

/// A Nickel enum tag such as `'namespaced`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tenancy {
    Namespaced,
    Cluster,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    pub plate: String,
    pub targets: BTreeMap<String, Target>,
    pub retention: Retention,
    pub storage: BTreeMap<String, StorageInstance>,
    pub environments: BTreeMap<String, Environment>,
    pub namespaces: BTreeMap<String, ManagedNamespace>,
    pub collector: Collector,
    /// Grafanas by name; none is fine.
    #[serde(default)]
    pub grafana: BTreeMap<String, Grafana>,
    /// The namespaces' ResourceQuotas, where the cluster sets them (`modules/quota.ncl`).
    #[serde(default)]
    pub quota: Option<Quotas>,
    /// The order environments are promoted in (`modules/promotion.ncl`).
    #[serde(default)]
    pub promotion: Option<Promotion>,
    /// The thresholds of the platform's own alerts (`modules/alerting.ncl`).
    pub alerting: Alerting,
}

/// `alerting`: the thresholds of the alerts obsc generates for the platform itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alerting {
    /// A Prometheus duration (`5m`).
    pub down_after: String,
    pub volume_free_percent: f64,
    pub push_error_percent: f64,
    pub near_limit_percent: f64,
    pub retention_stale_hours: f64,
    pub compaction_stale_hours: f64,
    pub runbook_url: String,
}

/// `promotion`: environments in the order changes reach them, and the reasoned exceptions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Promotion {
    pub order: Vec<String>,
    /// Environment -> feature (`tempo`, `traces`, `faro`...) -> the reason it may run there
    /// first.
    #[serde(default)]
    pub exceptions: BTreeMap<String, BTreeMap<String, String>>,
}

/// `quota`: what the cluster lets each namespace hold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    /// The cluster's standard sizes by name.
    #[serde(default)]
    pub sizes: BTreeMap<String, Hard>,
    #[serde(default)]
    pub roles: RoleQuotas,
    #[serde(default)]
    pub namespaces: BTreeMap<String, Quota>,
    pub headroom_percent: f64,
}

/// The quota of every namespace of a role that `quota.namespaces` does not name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleQuotas {
    pub monitoring: Option<Quota>,
    pub storage: Option<Quota>,
    pub grafana: Option<Quota>,
    pub managed: Option<Quota>,
}

/// A namespace's quota as written: a standard size and values that override it.
#[derive(Debug, Clone, Deserialize)]
pub struct Quota {
    pub size: Option<String>,
    #[serde(flatten)]
    pub hard: Hard,
}

/// A ResourceQuota's `spec.hard`, the keys obsc can measure. Quantities are in the forms the
/// contract admits (`names.CpuQuantity`, `names.MemoryQuantity`, `names.StorageSize`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hard {
    #[serde(rename = "requests.cpu")]
    pub requests_cpu: Option<String>,
    #[serde(rename = "limits.cpu")]
    pub limits_cpu: Option<String>,
    #[serde(rename = "requests.memory")]
    pub requests_memory: Option<String>,
    #[serde(rename = "limits.memory")]
    pub limits_memory: Option<String>,
    #[serde(rename = "requests.storage")]
    pub requests_storage: Option<String>,
    pub persistentvolumeclaims: Option<u64>,
    #[serde(rename = "count/pods")]
    pub pods: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub tenancy: Tenancy,
    pub cluster_dns: ClusterDns,
    pub api_server_port: u16,
    pub scrape: Scrape,
}

/// The cluster's monitoring stack, which scrapes the components through PodMonitors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scrape {
    pub enabled: bool,
    pub namespace: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterDns {
    pub namespace: String,
    pub port: u16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// One of `tiers` (the checker insists).
    pub default_tier: String,
    pub tiers: BTreeMap<String, Tier>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub period: Period,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    pub requests: Quantities,
    pub limits: Quantities,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quantities {
    pub cpu: String,
    pub memory: String,
}

impl Quantities {
    /// The memory quantity in bytes, exactly: a whole number with a binary suffix, the only form
    /// the contract admits (`names.MemoryQuantity`: `512Mi`, `2Gi`). `None` for any other form.
    pub fn memory_bytes(&self) -> Option<u64> {
        let split = self.memory.find(|c: char| !c.is_ascii_digit())?;
        let (number, suffix) = self.memory.split_at(split);
        let power = match suffix {
            "Ki" => 1,
            "Mi" => 2,
            "Gi" => 3,
            "Ti" => 4,
            _ => return None,
        };
        number.parse::<u64>().ok()?.checked_mul(1u64 << (10 * power))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageInstance {
    pub namespace: String,
    pub target: String,
    pub ha: bool,
    pub masters: u32,
    /// The node label whose values are the failure domains racks and masters are placed by.
    pub zone_label: String,
    /// Rack name -> the `zone_label` value of its nodes (HA only).
    pub racks: BTreeMap<String, String>,
    pub filers: u32,
    pub replication: String,
    pub volume_size: String,
    pub resources: Resources,
    pub credentials_secret: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Signals {
    pub logs: bool,
    pub traces: bool,
    pub metrics: bool,
    pub faro: bool,
    pub profiles: bool,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalOverrides {
    pub logs: Option<bool>,
    pub traces: Option<bool>,
    pub metrics: Option<bool>,
    pub faro: Option<bool>,
    pub profiles: Option<bool>,
}

impl Signals {
    /// Whether this signal flows.
    pub fn sends(&self, signal: Signal) -> bool {
        match signal {
            Signal::Logs => self.logs,
            Signal::Traces => self.traces,
            Signal::Metrics => self.metrics,
            Signal::Profiles => self.profiles,
        }
    }

    /// The environment's switches with a namespace's overrides applied.
    pub fn overridden_by(self, o: &SignalOverrides) -> Signals {
        Signals {
            logs: o.logs.unwrap_or(self.logs),
            traces: o.traces.unwrap_or(self.traces),
            metrics: o.metrics.unwrap_or(self.metrics),
            faro: o.faro.unwrap_or(self.faro),
            profiles: o.profiles.unwrap_or(self.profiles),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    pub target: Option<String>,
    pub monitoring_namespace: String,
    pub storage: String,
    pub ha_storage: bool,
    pub signals: Signals,
    /// Tier name -> this environment's period for it.
    pub retention: BTreeMap<String, Period>,
    pub loki: Loki,
    pub tempo: Option<Tempo>,
    pub mimir: Option<Mimir>,
    pub pyroscope: Option<Pyroscope>,
}

impl SignalOverrides {
    pub fn get(&self, signal: Signal) -> Option<bool> {
        match signal {
            Signal::Logs => self.logs,
            Signal::Traces => self.traces,
            Signal::Metrics => self.metrics,
            Signal::Profiles => self.profiles,
        }
    }
}

impl Platform {
    /// The managed namespaces of an environment, in name order.
    pub fn namespaces_of<'a>(
        &'a self,
        environment: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a ManagedNamespace)> + 'a {
        self.namespaces.iter().filter(move |(_, ns)| ns.environment == environment)
    }
}

impl Environment {
    /// Whether this environment runs the backend.
    pub fn has(&self, backend: Backend) -> bool {
        match backend {
            Backend::Loki => true,
            Backend::Tempo => self.tempo.is_some(),
            Backend::Mimir => self.mimir.is_some(),
            Backend::Pyroscope => self.pyroscope.is_some(),
        }
    }

    /// The target this environment renders into: its own name unless it says otherwise.
    pub fn target<'a>(&'a self, name: &'a str) -> &'a str {
        self.target.as_deref().unwrap_or(name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LokiMode {
    SimpleScalable,
    Monolithic,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Loki {
    pub mode: LokiMode,
    pub replication_factor: u32,
    pub write: StatefulTier,
    pub read: StatelessTier,
    pub backend: StatefulTier,
    pub monolithic: StatefulTier,
    pub limits: LokiLimits,
}

impl Loki {
    /// The replicas that run ingesters (and so hold the WAL and the stream replicas): the write
    /// target in Simple Scalable mode, every replica in monolithic mode. With the name of their
    /// block in the contract, for messages.
    pub fn ingesters(&self) -> (&StatefulTier, &'static str) {
        match self.mode {
            LokiMode::SimpleScalable => (&self.write, "write"),
            LokiMode::Monolithic => (&self.monolithic, "monolithic"),
        }
    }
}

/// Loki's ingestion limits (`limits_config`), per tenant. With `auth_enabled: false` every push
/// is tenant `fake`, so these are shared by every namespace of the environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LokiLimits {
    /// MiB per second (Loki multiplies by 1048576).
    pub ingestion_rate_mb: f64,
    /// MiB, per distributor.
    pub ingestion_burst_size_mb: f64,
    pub per_stream_rate_limit: LokiBytes,
    pub per_stream_rate_limit_burst: LokiBytes,
    pub max_global_streams_per_user: u32,
}

/// A byte size as Loki reads one (`flagext.ByteSize`, grafana/loki v3.7.6
/// pkg/util/flagext/bytesize.go, parsed by github.com/c2h5oh/datasize): a whole number with `B`,
/// `KB`, `MB`, `GB` or `TB`, each 1024 times the last. Loki refuses `MiB` or `1.5MB` at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LokiBytes(pub u64);

impl LokiBytes {
    const UNITS: [&'static str; 5] = ["B", "KB", "MB", "GB", "TB"];

    /// `3MB`, `512KB`, `1536KB`; `None` for anything Loki would refuse.
    pub fn parse(text: &str) -> Option<LokiBytes> {
        let split = text.find(|c: char| !c.is_ascii_digit())?;
        let (number, unit) = text.split_at(split);
        let power = Self::UNITS.iter().position(|u| *u == unit)?;
        let n: u64 = number.parse().ok()?;
        n.checked_mul(1u64 << (10 * power)).map(LokiBytes)
    }

    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for LokiBytes {
    /// In the largest unit that keeps the number whole: `768MB`, `1536KB`, `1000B`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut n = self.0;
        let mut unit = 0;
        while n != 0 && n.is_multiple_of(1024) && unit + 1 < Self::UNITS.len() {
            n /= 1024;
            unit += 1;
        }
        write!(f, "{n}{}", Self::UNITS[unit])
    }
}

impl serde::Serialize for LokiBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LokiBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        LokiBytes::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a Loki byte size: write a whole number with KB, MB or GB"
            ))
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatefulTier {
    pub replicas: u32,
    pub volume: String,
    pub resources: Resources,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatelessTier {
    pub replicas: u32,
    pub resources: Resources,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tempo {
    pub replicas: u32,
    pub volume: String,
    pub retention: Period,
    pub resources: Resources,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mimir {
    pub replicas: u32,
    pub replication_factor: u32,
    pub volume: String,
    pub max_exemplars: u64,
    pub resources: Resources,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pyroscope {
    pub replicas: u32,
    pub volume: String,
    pub resources: Resources,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backends {
    pub logs: Option<String>,
    pub traces: Option<String>,
    pub metrics: Option<String>,
    pub profiles: Option<String>,
}

impl Backends {
    /// The backend instance a namespace names for this signal, if it names one.
    pub fn get(&self, signal: Signal) -> Option<&str> {
        match signal {
            Signal::Logs => self.logs.as_deref(),
            Signal::Traces => self.traces.as_deref(),
            Signal::Metrics => self.metrics.as_deref(),
            Signal::Profiles => self.profiles.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedNamespace {
    pub environment: String,
    pub team: Option<String>,
    pub default_tier: Option<String>,
    pub signals: SignalOverrides,
    pub ship_to: Backends,
    pub collector: CollectorOverrides,
    pub services: BTreeMap<String, Service>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Python,
    Nodejs,
    Java,
    Go,
    Dotnet,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Grpc,
    Http,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub language: Language,
    pub protocol: Protocol,
    pub profiling: bool,
    pub public_url: Option<String>,
    pub faro: Faro,
}

/// The seed's Faro values, with its camelCase keys so a chart can take them as they are.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Faro {
    pub enabled: bool,
    pub collector_url: String,
    pub proxy: FaroProxy,
}

#[derive(Debug, Clone, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FaroProxy {
    pub enabled: bool,
    pub path: String,
    pub upstream_url: String,
}

impl ManagedNamespace {
    /// The signals this namespace's collector handles: the environment's switches, the
    /// namespace's overrides, and what its services opt in to (Faro, profiles).
    pub fn signals(&self, env: &Environment) -> Signals {
        let mut s = env.signals.overridden_by(&self.signals);
        s.faro |= self.services.values().any(|svc| svc.faro.enabled);
        s.profiles |= self.services.values().any(|svc| svc.profiling);
        s
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collector {
    pub resources: Resources,
    pub ports: CollectorPorts,
    pub storage: CollectorStorage,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorOverrides {
    pub resources: Option<Resources>,
    pub storage: Option<CollectorStorage>,
}

/// The claim under Alloy's `--storage.path`: its size, and its StorageClass (the cluster's
/// default class when `None`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorStorage {
    pub size: String,
    pub class: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorPorts {
    pub http: u16,
    pub otlp_grpc: u16,
    pub otlp_http: u16,
    pub faro: u16,
    pub pyroscope: u16,
}

/// A Grafana organisation role (the Nickel enum `'Admin | 'Editor | 'Viewer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum GrafanaRole {
    Admin,
    Editor,
    Viewer,
}

impl GrafanaRole {
    pub fn as_str(self) -> &'static str {
        match self {
            GrafanaRole::Admin => "Admin",
            GrafanaRole::Editor => "Editor",
            GrafanaRole::Viewer => "Viewer",
        }
    }
}

/// A Grafana (modules/grafana.ncl).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grafana {
    pub target: String,
    pub namespace: String,
    pub environments: Vec<String>,
    pub hostname: String,
    pub root_url: String,
    pub replicas: Autoscaling,
    pub resources: Resources,
    pub database: Database,
    pub redis: Redis,
    pub keycloak: Keycloak,
    pub thanos: Option<Thanos>,
    pub dashboards: Dashboards,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoscaling {
    pub min: u32,
    pub max: u32,
    pub cpu_target_percent: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SslMode {
    #[serde(rename = "disable")]
    Disable,
    #[serde(rename = "require")]
    Require,
    #[serde(rename = "verify-ca")]
    VerifyCa,
    #[serde(rename = "verify-full")]
    VerifyFull,
}

impl SslMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Where a service Grafana dials runs (modules/grafana.ncl, `Endpoint`): the Nickel record
/// `{ in_cluster = {...} }` or `{ outside = {...} }`, exactly one, which is serde's externally
/// tagged enum.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    InCluster(InCluster),
    Outside(Outside),
}

/// A service whose pods run in this cluster: NetworkPolicies select them by namespace and labels.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InCluster {
    pub namespace: String,
    /// A matchLabels selector of exactly its pods (the checker refuses an empty one).
    pub pod_labels: BTreeMap<String, String>,
    pub host: String,
    pub port: u16,
    /// The port the pods listen on, where the Service maps `port` to another.
    pub pod_port: Option<u16>,
}

impl InCluster {
    /// The port a NetworkPolicy matches: the pod's, after the Service has translated `port`.
    pub fn pod_port(&self) -> u16 {
        self.pod_port.unwrap_or(self.port)
    }
}

/// A service outside the cluster: reached by address, so only an ipBlock can allow it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outside {
    pub host: String,
    pub port: u16,
    /// The addresses `host` resolves to (the checker insists on one).
    pub cidr: Option<String>,
}

impl Endpoint {
    /// The host Grafana dials.
    pub fn host(&self) -> &str {
        match self {
            Endpoint::InCluster(e) => &e.host,
            Endpoint::Outside(e) => &e.host,
        }
    }

    /// The port Grafana dials.
    pub fn port(&self) -> u16 {
        match self {
            Endpoint::InCluster(e) => e.port,
            Endpoint::Outside(e) => e.port,
        }
    }

    /// `host:port`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host(), self.port())
    }
}

/// The services a Grafana depends on, each at an [`Endpoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dependency {
    Database,
    Redis,
    Keycloak,
    Thanos,
}

impl Dependency {
    /// The Grafana field that holds its endpoint (`database` for `database.endpoint`); also the
    /// suffix of the NetworkPolicy that admits Grafana to it.
    pub fn field(self) -> &'static str {
        match self {
            Dependency::Database => "database",
            Dependency::Redis => "redis",
            Dependency::Keycloak => "keycloak",
            Dependency::Thanos => "thanos",
        }
    }

    /// What it is, for messages.
    pub fn title(self) -> &'static str {
        match self {
            Dependency::Database => "PostgreSQL database",
            Dependency::Redis => "Redis cache",
            Dependency::Keycloak => "Keycloak",
            Dependency::Thanos => "Thanos querier",
        }
    }
}

impl Grafana {
    /// Every service this Grafana dials and where it runs.
    pub fn endpoints(&self) -> Vec<(Dependency, &Endpoint)> {
        let mut out = vec![
            (Dependency::Database, &self.database.endpoint),
            (Dependency::Redis, &self.redis.endpoint),
            (Dependency::Keycloak, &self.keycloak.endpoint),
        ];
        if let Some(thanos) = &self.thanos {
            out.push((Dependency::Thanos, &thanos.endpoint));
        }
        out
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub endpoint: Endpoint,
    pub name: String,
    pub user: String,
    pub secret: String,
    pub ssl_mode: SslMode,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redis {
    pub endpoint: Endpoint,
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keycloak {
    pub realm_url: String,
    /// Where the realm URL's host runs: its host and port are the URL's (the checker insists).
    pub endpoint: Endpoint,
    pub client_id: String,
    pub client_secret_secret: String,
    pub scopes: Vec<String>,
    pub role_mapping: Vec<RoleMapping>,
    pub default_role: Option<GrafanaRole>,
    pub strict: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleMapping {
    pub keycloak_role: String,
    pub grafana_role: GrafanaRole,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thanos {
    pub endpoint: Endpoint,
    pub token_secret: String,
}

impl Thanos {
    /// The querier's URL: it serves only TLS (OpenShift's service CA signs its certificate).
    pub fn url(&self) -> String {
        format!("https://{}", self.endpoint.address())
    }
}

/// The host and port of an `http(s)://host[:port]/...` URL (the scheme's port if none is
/// written); `None` if it is not such a URL.
pub fn url_authority(url: &str) -> Option<(&str, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = match authority.rsplit_once(':') {
        // An IPv6 literal without a port: `[::1]`.
        Some((host, port)) if !port.ends_with(']') => (host, port.parse().ok()?),
        _ => (authority, default),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then_some((host, port))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboards {
    pub directory: Option<String>,
    pub folder: String,
    pub extra_namespaces: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(text: &str) -> Option<u64> {
        Quantities { cpu: "1".to_string(), memory: text.to_string() }.memory_bytes()
    }

    #[test]
    fn memory_quantities_are_read_exactly_in_bytes() {
        assert_eq!(memory("1Ki"), Some(1024));
        assert_eq!(memory("512Mi"), Some(512 << 20));
        assert_eq!(memory("1Gi"), Some(1 << 30));
        assert_eq!(memory("3Ti"), Some(3 << 40));
        // Forms the contract does not admit are not guessed at.
        for other in ["1G", "1.5Gi", "Gi", "1", "1gi", "-1Gi"] {
            assert_eq!(memory(other), None, "{other}");
        }
    }

    #[test]
    fn loki_byte_sizes_read_and_write_loki_s_binary_units() {
        assert_eq!(LokiBytes::parse("3MB"), Some(LokiBytes(3 << 20)));
        assert_eq!(LokiBytes::parse("1536KB"), Some(LokiBytes(1536 << 10)));
        assert_eq!(LokiBytes::parse("4GB"), Some(LokiBytes(4 << 30)));
        for refused in ["3MiB", "1.5MB", "MB", "3 MB", "3mb"] {
            assert_eq!(LokiBytes::parse(refused), None, "{refused}");
        }
        assert_eq!(LokiBytes(768 << 20).to_string(), "768MB");
        assert_eq!(LokiBytes(1536 << 10).to_string(), "1536KB");
        assert_eq!(LokiBytes(1000).to_string(), "1000B");
        assert_eq!(LokiBytes(2 << 40).to_string(), "2TB");
        assert_eq!(LokiBytes(0).to_string(), "0B");
    }

    #[test]
    fn authorities_of_urls() {
        assert_eq!(url_authority("https://sso.example.org/realms/x"), Some(("sso.example.org", 443)));
        assert_eq!(url_authority("http://172.18.0.1:8180/realms/obsc"), Some(("172.18.0.1", 8180)));
        assert_eq!(url_authority("http://kc/realms/y:1"), Some(("kc", 80)));
        assert_eq!(url_authority("https://[2001:db8::1]:8443/x"), Some(("2001:db8::1", 8443)));
        assert_eq!(url_authority("https://[2001:db8::1]/x"), Some(("2001:db8::1", 443)));
        assert_eq!(url_authority("https://kc:notaport/"), None);
        assert_eq!(url_authority("ftp://kc/"), None);
    }

    #[test]
    fn the_thanos_url_is_its_endpoints() {
        let thanos = Thanos {
            endpoint: Endpoint::InCluster(InCluster {
                namespace: "openshift-monitoring".to_string(),
                pod_labels: BTreeMap::from([("app.kubernetes.io/name".to_string(), "thanos-query".to_string())]),
                host: "thanos-querier.openshift-monitoring.svc".to_string(),
                port: 9092,
                pod_port: None,
            }),
            token_secret: "t".to_string(),
        };
        assert_eq!(thanos.url(), "https://thanos-querier.openshift-monitoring.svc:9092");
    }
}
