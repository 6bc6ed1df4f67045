//! What the cluster's monitoring stack scrapes: one PodMonitor per component and namespace
//! (`crate::facts::scrape`), selecting exactly the pods of the component's own NetworkPolicy on
//! their metrics port. The flows in `render::flows` open that port to the stack's namespace
//! alone; `verify` proves the selector finds pods that declare the port.
//!
//! And what it alerts on: a PrometheusRule in each namespace it scrapes. OpenShift's
//! user-workload monitoring adds `namespace="<its own>"` to every selector of a rule in a user
//! namespace (`enforcedNamespaceLabel`, cluster-monitoring-operator assets/thanos-ruler), so a
//! namespace's alerts live in that namespace. Thanos Ruler evaluates them against the platform's
//! metrics too, which is where the kubelet's volume statistics are.

use std::collections::BTreeMap;

use super::meta;
use crate::facts::scrape::{self, Component, Scraped};
use crate::model::Platform;
use crate::names::Backend;
use crate::plan::{
    AlertRule, PodMetricsEndpoint, PodMonitor, PodMonitorSpec, PrometheusRule, PrometheusRuleSpec, RuleGroup,
};

/// The PrometheusRule of every namespace obsc scrapes.
pub const RULES: &str = "obsc-alerts";

/// The PodMonitor of one scraped component.
pub fn pod_monitor(s: &Scraped) -> PodMonitor {
    PodMonitor {
        metadata: meta::object(&s.name, &s.namespace, &s.pods),
        spec: PodMonitorSpec {
            selector: meta::match_labels(&s.pods),
            pod_metrics_endpoints: vec![PodMetricsEndpoint {
                port: s.port_name.to_string(),
                path: scrape::PATH.to_string(),
            }],
        },
    }
}

/// Every alert obsc generates, by name, with its severity and what it means; the README's
/// "Alerts" section is its runbook (each alert's `runbook_url` points at its heading).
pub const ALERTS: [(&str, &str); 11] = [
    ("ObscComponentDown", "a pod of a scraped component does not answer its scrape"),
    ("ObscComponentNotScraped", "nothing of a component is scraped at all"),
    ("ObscVolumeFillingUp", "a claim is nearly full"),
    ("ObscCollectorDroppingLogs", "a collector drops log entries Loki would not take"),
    ("ObscCollectorExportFailing", "a collector cannot send spans or metrics"),
    ("ObscBackendRejectingPushes", "a backend answers pushes with server errors"),
    ("ObscBackendRateLimited", "a backend discards data at a tenant's limits"),
    ("ObscIngestionNearLimit", "a tenant sends Loki close to its ingestion rate limit"),
    ("ObscBackendStorageFailing", "a backend fails to read or write its object storage"),
    ("ObscRetentionNotRunning", "Loki's retention or Mimir's compaction has stopped"),
    ("ObscStorageRacksShort", "fewer SeaweedFS racks are up than replication needs"),
];

/// The alerts of one namespace: each scraped component down or not scraped at all, and obsc's
/// claims filling up (every claim of a namespace obsc owns; in a managed namespace, which the
/// team shares, only the collector's, `claim`).
pub fn alerts(platform: &Platform, namespace: &str, scraped: &[Scraped], claim: Option<&str>) -> PrometheusRule {
    let alerting = &platform.alerting;
    let runbook = |alert: &str| format!("{}#{}", alerting.runbook_url, alert.to_ascii_lowercase());
    // `component` tells apart the rules of one alert in one namespace (promtool's lint refuses
    // two rules of one name with the same labels).
    let rule = |alert: &str,
                expr: String,
                for_: &str,
                severity: &str,
                component: &str,
                summary: String,
                description: String| AlertRule {
        alert: alert.to_string(),
        expr,
        for_: for_.to_string(),
        labels: BTreeMap::from([
            ("severity".to_string(), severity.to_string()),
            ("component".to_string(), component.to_string()),
        ]),
        annotations: BTreeMap::from([
            ("summary".to_string(), summary),
            ("description".to_string(), description),
            ("runbook_url".to_string(), runbook(alert)),
        ]),
    };
    let mut rules = Vec::new();
    for s in scraped {
        let job = s.job();
        // What carries the data is critical; a collector serves one team's namespace.
        let severity = match s.component {
            Component::Collector => "warning",
            _ => "critical",
        };
        rules.push(rule(
            "ObscComponentDown",
            format!("up{{job=\"{job}\"}} == 0"),
            &alerting.down_after,
            severity,
            &s.name,
            format!("{{{{ $labels.pod }}}} of {} in {} is down", s.name, s.namespace),
            format!(
                "Prometheus cannot scrape {{{{ $labels.pod }}}} ({job}) on its metrics port: the pod is down, restarting, or its metrics port is blocked."
            ),
        ));
        rules.push(rule(
            "ObscComponentNotScraped",
            format!("absent(up{{job=\"{job}\"}})"),
            &alerting.down_after,
            "warning",
            &s.name,
            format!("{} in {} is not scraped", s.name, s.namespace),
            format!("No target of {job} exists: its pods are gone, or its PodMonitor selects none."),
        ));
        rules.extend(component_alerts(platform, s, &job, &rule));
    }
    let claims = match claim {
        Some(name) => format!("namespace=\"{namespace}\",persistentvolumeclaim=\"{name}\""),
        None => format!("namespace=\"{namespace}\""),
    };
    rules.push(rule(
        "ObscVolumeFillingUp",
        format!(
            "100 * kubelet_volume_stats_available_bytes{{{claims}}} / kubelet_volume_stats_capacity_bytes{{{claims}}} < {}",
            alerting.volume_free_percent
        ),
        "15m",
        "warning",
        "volumes",
        format!("claim {{{{ $labels.persistentvolumeclaim }}}} in {namespace} is nearly full"),
        format!(
            "Less than {}% of claim {{{{ $labels.persistentvolumeclaim }}}} is free ({{{{ $value | humanize }}}}% left).",
            alerting.volume_free_percent
        ),
    ));
    PrometheusRule {
        metadata: meta::object(RULES, namespace, &meta::selector("obsc", "alerts", namespace)),
        spec: PrometheusRuleSpec { groups: vec![RuleGroup { name: format!("obsc-{namespace}"), rules }] },
    }
}

/// The signals the alerts and the platform health dashboards (`render::grafana::dashboards`)
/// both read, as PromQL written in one place (the metrics are cited at `component_alerts`).
pub mod signal {
    /// A backend's push requests in its own request metrics: the counter and the push routes.
    pub struct Pushes {
        pub requests: &'static str,
        pub routes: &'static str,
    }

    pub const LOKI_PUSHES: Pushes =
        Pushes { requests: "loki_request_duration_seconds_count", routes: "loki_api_v1_push|otlp_v1_logs" };
    pub const MIMIR_PUSHES: Pushes =
        Pushes { requests: "cortex_request_duration_seconds_count", routes: "api_v1_push|otlp_v1_metrics" };

    impl Pushes {
        /// The share of the pushes to `job` that end in a server error, in percent.
        pub fn failed_percent(&self, job: &str) -> String {
            let count = format!("{}{{job=\"{job}\",route=~\"{}\"", self.requests, self.routes);
            format!("100 * sum(rate({count},status_code=~\"5..\"}}[5m])) / sum(rate({count}}}[5m]))")
        }
    }

    /// When Loki's compactor last applied retention, and Mimir's last compacted.
    pub const LOKI_RETENTION_RAN: &str = "loki_compactor_apply_retention_last_successful_run_timestamp_seconds";
    pub const MIMIR_COMPACTION_RAN: &str = "cortex_compactor_last_successful_run_timestamp_seconds";

    /// Seconds since the timestamp gauge `last_run` of `job`.
    pub fn seconds_since(last_run: &str, job: &str) -> String {
        format!("time() - max({last_run}{{job=\"{job}\"}})")
    }
}

/// What a rule is made of: alert, expression, `for`, severity, component, summary, description.
type RuleOf<'r> = dyn Fn(&str, String, &str, &str, &str, String, String) -> AlertRule + 'r;

/// The alerts of what a component does, on the metrics its pinned version exposes (each name
/// checked at the tag, except Mimir's, read on its main branch):
/// - Alloy v1.18.1: `loki_write_dropped_entries_total` (internal/component/common/loki/client/
///   metrics.go); `otelcol_exporter_send_failed_{spans,metric_points}_total` (the collector's
///   exporter counters, `_total` added by Alloy's bridge, internal/component/otelcol/exporter).
/// - Loki v3.7.6: `loki_request_duration_seconds` by `route` (dskit server; push routes
///   `loki_api_v1_push`, `otlp_v1_logs`: pkg/loki/modules.go), `loki_discarded_samples_total`
///   by `reason` (pkg/validation/validate.go), `loki_compactor_apply_retention_last_successful_
///   run_timestamp_seconds` (pkg/compactor/metrics.go), `loki_s3_request_duration_seconds` by
///   `operation` and `status_code` (the S3 chunk client), `loki_distributor_bytes_received_total`
///   by `tenant` (pkg/loghttp/push/push.go).
/// - Mimir 3: `cortex_request_duration_seconds` (routes `api_v1_push`, `otlp_v1_metrics`:
///   pkg/api/api.go), `cortex_discarded_samples_total` (`rate_limited`: pkg/distributor;
///   `per_user_series_limit`: pkg/ingester), `thanos_objstore_bucket_operation_failures_total`
///   (pkg/storage/bucket/client.go), `cortex_compactor_last_successful_run_timestamp_seconds`.
/// - Tempo 3.0: `tempo_discarded_spans_total` (modules/overrides/discarded_spans.go),
///   `tempodb_backend_request_duration_seconds` by `status_code` (tempodb/backend/
///   instrumentation).
fn component_alerts(platform: &Platform, s: &Scraped, job: &str, rule: &RuleOf) -> Vec<AlertRule> {
    let alerting = &platform.alerting;
    let name = s.name.as_str();
    let pushes = |pushes: &signal::Pushes| {
        rule(
            "ObscBackendRejectingPushes",
            format!("{} > {}", pushes.failed_percent(job), alerting.push_error_percent),
            "10m",
            "critical",
            name,
            format!("{name} in {} fails {{{{ $value | humanize }}}}% of pushes", s.namespace),
            format!(
                "More than {}% of the pushes to {job} end in a server error: collectors retry, then drop.",
                alerting.push_error_percent
            ),
        )
    };
    let limited = |metric: &str, reasons: &str| {
        rule(
            "ObscBackendRateLimited",
            format!("sum(rate({metric}{{job=\"{job}\",reason=~\"{reasons}\"}}[5m])) > 0"),
            "10m",
            "warning",
            name,
            format!("{name} in {} discards data at a tenant's limits", s.namespace),
            format!("{job} discards what a tenant sends beyond its limits ({reasons})."),
        )
    };
    let storage = |expr: String| {
        rule(
            "ObscBackendStorageFailing",
            expr,
            "15m",
            "critical",
            name,
            format!("{name} in {} fails to use its object storage", s.namespace),
            format!("{job} keeps failing requests to its S3 bucket: blocks are not written or read."),
        )
    };
    let stale = |last_run: &str, hours: f64, what: &str| {
        rule(
            "ObscRetentionNotRunning",
            format!("{} > {}", signal::seconds_since(last_run, job), hours * 3600.0),
            "1h",
            "warning",
            name,
            format!("{name} in {} has not {what} for {hours}h", s.namespace),
            format!("{job} last {what} more than {hours} hours ago: data outlives its retention and storage grows."),
        )
    };
    // What a tenant offers Loki (`loki_distributor_bytes_received_total`, counted as pushes
    // are read, by `tenant`: grafana/loki v3.7.6 pkg/loghttp/push/push.go) against the
    // environment's `ingestion_rate_mb`, a per-tenant rate the distributors share under the
    // default `global` strategy (pkg/validation/limits.go).
    let near_limit = |environment: &str| {
        let limit_mb = platform.environments.get(environment).map_or(0.0, |e| e.loki.limits.ingestion_rate_mb);
        let threshold = alerting.near_limit_percent / 100.0 * limit_mb * 1_048_576.0;
        rule(
            "ObscIngestionNearLimit",
            format!("sum by (tenant) (rate(loki_distributor_bytes_received_total{{job=\"{job}\"}}[5m])) > {threshold}"),
            "15m",
            "warning",
            name,
            format!("tenant {{{{ $labels.tenant }}}} sends {name} in {} close to its ingestion limit", s.namespace),
            format!(
                "More than {}% of `ingestion_rate_mb` ({limit_mb} MiB/s) for 15 minutes: raise the environment's Loki limits before pushes are refused.",
                alerting.near_limit_percent
            ),
        )
    };
    match &s.component {
        Component::Collector => vec![
            rule(
                "ObscCollectorDroppingLogs",
                format!("sum(increase(loki_write_dropped_entries_total{{job=\"{job}\"}}[10m])) > 0"),
                "5m",
                "warning",
                name,
                format!("the collector of {} drops log entries", s.namespace),
                format!("{job} drops log entries Loki refuses or cannot take (rate limits, line length, a full queue)."),
            ),
            rule(
                "ObscCollectorExportFailing",
                format!(
                    "(sum(rate(otelcol_exporter_send_failed_spans_total{{job=\"{job}\"}}[10m])) or vector(0)) + (sum(rate(otelcol_exporter_send_failed_metric_points_total{{job=\"{job}\"}}[10m])) or vector(0)) > 0"
                ),
                "10m",
                "warning",
                name,
                format!("the collector of {} cannot send spans or metrics", s.namespace),
                format!("{job} fails to send spans to Tempo or metrics to Mimir."),
            ),
        ],
        Component::Backend(Backend::Loki, environment) => vec![
            pushes(&signal::LOKI_PUSHES),
            near_limit(environment),
            // Writes only: any error of the S3 client counts as `500`, a chunk not found on
            // read too (dskit instrument.ErrorCode; pkg/storage/chunk/client/aws/
            // s3_storage_client.go at v3.7.6).
            storage(format!(
                "sum(rate(loki_s3_request_duration_seconds_count{{job=\"{job}\",operation=\"S3.PutObject\",status_code=\"500\"}}[5m])) > 0"
            )),
            limited("loki_discarded_samples_total", "rate_limited|per_stream_rate_limit|stream_limit"),
            stale(signal::LOKI_RETENTION_RAN, alerting.retention_stale_hours, "applied retention"),
        ],
        Component::Backend(Backend::Mimir, _) => vec![
            pushes(&signal::MIMIR_PUSHES),
            limited("cortex_discarded_samples_total", "rate_limited|per_user_series_limit|per_user_active_series_limit"),
            storage(format!("sum(rate(thanos_objstore_bucket_operation_failures_total{{job=\"{job}\"}}[5m])) > 0")),
            stale(signal::MIMIR_COMPACTION_RAN, alerting.compaction_stale_hours, "compacted"),
        ],
        Component::Backend(Backend::Tempo, _) => vec![
            limited("tempo_discarded_spans_total", "rate_limited"),
            storage(format!(
                "sum(rate(tempodb_backend_request_duration_seconds_count{{job=\"{job}\",status_code=~\"5..\"}}[5m])) > 0"
            )),
        ],
        Component::Storage(instance) => {
            // An HA instance's volume servers, one per rack: SeaweedFS writes a volume's copies
            // on `1 + y` racks for replication `xyz`, so fewer racks up than that and writes
            // fail (checked against the racks by `check/storage.rs`).
            let Some(storage) = platform.storage.get(instance).filter(|st| st.ha) else { return Vec::new() };
            if *name != format!("{instance}-volume") {
                return Vec::new();
            }
            let other_racks = storage.replication.chars().nth(1).and_then(|c| c.to_digit(10)).unwrap_or(0);
            let needed = 1 + other_racks;
            vec![rule(
                "ObscStorageRacksShort",
                format!("count(up{{job=\"{job}\"}} == 1) < {needed} or absent(up{{job=\"{job}\"}} == 1)"),
                &alerting.down_after,
                "critical",
                name,
                format!("{instance} in {} has fewer than {needed} racks up", s.namespace),
                format!(
                    "Replication `{}` keeps copies on {needed} racks; with fewer volume servers up, writes of new volumes fail.",
                    storage.replication
                ),
            )]
        }
        _ => Vec::new(),
    }
}
