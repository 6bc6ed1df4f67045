//! Names: the rules Kubernetes, Loki and S3 put on names, and the names obsc derives.
//!
//! Every derived name (a backend's Service, a bucket, a backend instance) is made by one
//! function here, so the checker and the renderers can never disagree about it.

/// The pod template annotation that carries the SHA-256 of a workload's config, so that a
/// config change rolls its pods.
pub const CONFIG_HASH_ANNOTATION: &str = "obsc.dev/config-sha256";

/// A DNS-1123 label: Namespace, Service and most object names.
pub fn is_dns_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

pub const DNS_LABEL_HELP: &str =
    "use 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit";

/// A Kubernetes label value, which is also what a Loki stream label value must be here.
pub fn is_label_value(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() <= 63
        && (bytes.is_empty()
            || (bytes.iter().all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                && bytes[0].is_ascii_alphanumeric()
                && bytes[bytes.len() - 1].is_ascii_alphanumeric()))
}

pub const LABEL_VALUE_HELP: &str =
    "use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";

/// An S3 bucket name as SeaweedFS and AWS accept it.
pub fn is_bucket_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

/// The telemetry signals that go to a backend, in the order obsc lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Signal {
    Logs,
    Traces,
    Metrics,
    Profiles,
}

impl Signal {
    pub const ALL: [Signal; 4] = [Signal::Logs, Signal::Traces, Signal::Metrics, Signal::Profiles];

    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Logs => "logs",
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Profiles => "profiles",
        }
    }

    /// The component that stores this signal.
    pub fn backend(self) -> Backend {
        match self {
            Signal::Logs => Backend::Loki,
            Signal::Traces => Backend::Tempo,
            Signal::Metrics => Backend::Mimir,
            Signal::Profiles => Backend::Pyroscope,
        }
    }
}

/// The per-environment backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Backend {
    Loki,
    Tempo,
    Mimir,
    Pyroscope,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Loki => "loki",
            Backend::Tempo => "tempo",
            Backend::Mimir => "mimir",
            Backend::Pyroscope => "pyroscope",
        }
    }

    /// The product's name, for messages and drawings.
    pub fn title(self) -> &'static str {
        match self {
            Backend::Loki => "Loki",
            Backend::Tempo => "Tempo",
            Backend::Mimir => "Mimir",
            Backend::Pyroscope => "Pyroscope",
        }
    }

    /// The instance name a namespace's `ship_to` uses: `loki-prod`.
    pub fn instance(self, environment: &str) -> String {
        format!("{}-{environment}", self.as_str())
    }

    /// The bucket `type` segment of `dts-{type}-{env}-{purpose}`.
    pub fn bucket_type(self) -> &'static str {
        match self {
            Backend::Loki => "logs",
            Backend::Tempo => "traces",
            Backend::Mimir => "metrics",
            Backend::Pyroscope => "profiles",
        }
    }
}

/// The bucket naming convention of the platform: `dts-{type}-{env}-{purpose}`.
pub fn bucket(backend: Backend, environment: &str, purpose: &str) -> String {
    format!("dts-{}-{environment}-{purpose}", backend.bucket_type())
}

/// The stream label that carries a log line's retention tier: set by the collector from the
/// pod's label of the same name, matched by Loki's `retention_stream` selectors.
pub const LOG_SOURCE_LABEL: &str = "log_source";

/// The ConfigMap a service's pods load with `envFrom`: `otel-<service>`.
pub fn otel_config_map(service: &str) -> String {
    format!("otel-{service}")
}

/// Names of the objects and Services obsc renders, in one place.
pub mod object {
    /// The collector Deployment (and its ServiceAccount, Role, ConfigMap...) in a managed namespace.
    pub const COLLECTOR: &str = "monitoring-collector";
    /// The Service the applications send to.
    pub const COLLECTOR_SERVICE: &str = "alloy";
    /// Loki's push Service (the write path in Simple Scalable mode, every replica in monolithic).
    pub const LOKI_PUSH: &str = "loki-write";
    /// Loki's query Service.
    pub const LOKI_QUERY: &str = "loki-read";
    pub const TEMPO: &str = "tempo";
    pub const MIMIR: &str = "mimir";
    pub const PYROSCOPE: &str = "pyroscope";
}

/// In-cluster DNS name of a Service in another namespace.
pub fn service_host(service: &str, namespace: &str) -> String {
    format!("{service}.{namespace}.svc")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("orders-prod"));
        assert!(is_dns_label("a"));
        assert!(!is_dns_label("Orders"));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_label("a-"));
        assert!(!is_dns_label(""));
        assert!(!is_dns_label(&"a".repeat(64)));
        assert!(!is_dns_label("a.b"));
    }

    #[test]
    fn label_values() {
        assert!(is_label_value("partner-team"));
        assert!(is_label_value("cdt"));
        assert!(is_label_value("a.b_c"));
        assert!(!is_label_value("partner team"));
        assert!(!is_label_value("-x"));
    }

    #[test]
    fn buckets() {
        assert_eq!(bucket(Backend::Loki, "prod", "chunks"), "dts-logs-prod-chunks");
        assert_eq!(bucket(Backend::Tempo, "dev", "blocks"), "dts-traces-dev-blocks");
        assert!(is_bucket_name("dts-logs-prod-chunks"));
        assert!(!is_bucket_name("ab"));
        assert!(!is_bucket_name("Dts"));
    }
}
