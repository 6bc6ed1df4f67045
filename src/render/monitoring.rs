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
use crate::model::Alerting;
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
pub const ALERTS: [(&str, &str); 3] = [
    ("ObscComponentDown", "a pod of a scraped component does not answer its scrape"),
    ("ObscComponentNotScraped", "nothing of a component is scraped at all"),
    ("ObscVolumeFillingUp", "a claim is nearly full"),
];

/// The alerts of one namespace: each scraped component down or not scraped at all, and obsc's
/// claims filling up (every claim of a namespace obsc owns; in a managed namespace, which the
/// team shares, only the collector's, `claim`).
pub fn alerts(alerting: &Alerting, namespace: &str, scraped: &[Scraped], claim: Option<&str>) -> PrometheusRule {
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
        // The Prometheus Operator names a PodMonitor's targets' job `<namespace>/<name>`
        // (pkg/prometheus/promcfg.go, generatePodMonitorConfig).
        let job = format!("{}/{}", s.namespace, s.name);
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
