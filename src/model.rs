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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub tenancy: Tenancy,
    pub cluster_dns: ClusterDns,
    pub api_server_port: u16,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageInstance {
    pub namespace: String,
    pub target: String,
    pub ha: bool,
    pub masters: u32,
    pub racks: u32,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub host: String,
    pub port: u16,
    pub name: String,
    pub user: String,
    pub secret: String,
    pub ssl_mode: SslMode,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redis {
    pub address: String,
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keycloak {
    pub realm_url: String,
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
    pub url: String,
    pub namespace: String,
    pub token_secret: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboards {
    pub directory: Option<String>,
    pub folder: String,
    pub extra_namespaces: Vec<String>,
}
