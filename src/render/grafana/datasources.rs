//! The datasource provisioning file, typed. Which datasources exist and their UIDs come from
//! [`crate::facts::datasources`]; this adds what each one is (URL, type) and how they link: a
//! log line's trace id to Tempo, a trace to its logs, metrics, service map and profile, a Mimir
//! exemplar to its trace.
//!
//! Provisioning files and `$`: Grafana expands `$VAR` and `${VAR}` from its environment in every
//! value of a provisioning file, and reads `$$` as one literal `$`. Every free-text value here is
//! a [`Literal`], which doubles its `$` when written; the only values Grafana is meant to expand
//! are [`EnvRef`]s in `secureJsonData`, so a Secret's value reaches Grafana through the pod's
//! environment and a literal such as `${__value.raw}` reaches it intact.
//! Keys: grafana/grafana docs/sources/administration/provisioning/index.md (v13), and the
//! datasources' own provisioning docs (loki, tempo, prometheus).

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::THANOS_CA_ENV;
use super::THANOS_TOKEN_ENV;
use crate::facts::addresses::{loki, mimir, pyroscope, tempo};
use crate::facts::datasources::{self, About, DatasourceId, ProvisioningFile};
use crate::model::{Grafana, Platform};
use crate::names::Backend;

/// A string Grafana must read as written: its `$` are doubled in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal(pub String);

impl Serialize for Literal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.replace('$', "$$"))
    }
}

impl From<&str> for Literal {
    fn from(s: &str) -> Self {
        Literal(s.to_string())
    }
}

impl From<String> for Literal {
    fn from(s: String) -> Self {
        Literal(s)
    }
}

/// A `secureJsonData` value Grafana fills in from its container's environment when it reads the
/// file: literal text, then `${VAR}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvRef {
    pub prefix: &'static str,
    pub var: &'static str,
}

impl Serialize for EnvRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}${{{}}}", self.prefix.replace('$', "$$"), self.var))
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasourceFile {
    pub api_version: u32,
    /// Datasources no longer in the file are deleted: the file is the whole truth.
    pub prune: bool,
    pub datasources: Vec<Datasource>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Datasource {
    pub name: Literal,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uid: Literal,
    pub access: &'static str,
    pub url: Literal,
    pub editable: bool,
    pub json_data: JsonData,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secure_json_data: BTreeMap<&'static str, EnvRef>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prometheus_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_query_parameters: Option<Literal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_header_name1: Option<&'static str>,
    #[serde(rename = "tlsAuthWithCACert", skip_serializing_if = "Option::is_none")]
    pub tls_auth_with_ca_cert: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derived_fields: Option<Vec<DerivedField>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traces_to_logs_v2: Option<TracesToLogs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traces_to_metrics: Option<TracesToMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traces_to_profiles: Option<TracesToProfiles>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_map: Option<DatasourceLink>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_graph: Option<Enabled>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loki_search: Option<DatasourceLink>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemplar_trace_id_destinations: Option<Vec<ExemplarDestination>>,
}

/// Loki: a trace id found in a log line links to the trace.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DerivedField {
    pub name: Literal,
    pub matcher_type: &'static str,
    pub matcher_regex: Literal,
    pub datasource_uid: Literal,
    pub url: Literal,
    pub url_display_label: Literal,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TracesToLogs {
    pub datasource_uid: Literal,
    #[serde(rename = "filterByTraceID")]
    pub filter_by_trace_id: bool,
    pub span_start_time_shift: &'static str,
    pub span_end_time_shift: &'static str,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TracesToMetrics {
    pub datasource_uid: Literal,
    pub tags: Vec<Tag>,
    pub queries: Vec<NamedQuery>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TracesToProfiles {
    pub datasource_uid: Literal,
    pub profile_type_id: &'static str,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tag {
    pub key: &'static str,
    pub value: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct NamedQuery {
    pub name: &'static str,
    pub query: Literal,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasourceLink {
    pub datasource_uid: Literal,
}

#[derive(Debug, Clone, Serialize)]
pub struct Enabled {
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExemplarDestination {
    pub name: &'static str,
    pub datasource_uid: Literal,
}

impl Datasource {
    /// Every other datasource this one links to: (what links, the UID it names).
    pub fn references(&self) -> Vec<(&'static str, &str)> {
        let j = &self.json_data;
        let mut out = Vec::new();
        for f in j.derived_fields.iter().flatten() {
            out.push(("derivedFields", f.datasource_uid.0.as_str()));
        }
        if let Some(l) = &j.traces_to_logs_v2 {
            out.push(("tracesToLogsV2", l.datasource_uid.0.as_str()));
        }
        if let Some(m) = &j.traces_to_metrics {
            out.push(("tracesToMetrics", m.datasource_uid.0.as_str()));
        }
        if let Some(p) = &j.traces_to_profiles {
            out.push(("tracesToProfiles", p.datasource_uid.0.as_str()));
        }
        if let Some(s) = &j.service_map {
            out.push(("serviceMap", s.datasource_uid.0.as_str()));
        }
        if let Some(s) = &j.loki_search {
            out.push(("lokiSearch", s.datasource_uid.0.as_str()));
        }
        for e in j.exemplar_trace_id_destinations.iter().flatten() {
            out.push(("exemplarTraceIdDestinations", e.datasource_uid.0.as_str()));
        }
        out
    }
}

/// Every datasource of a Grafana, grouped by the provisioning file it is written to, each file
/// in the order [`datasources::of_grafana`] gives them. Grafana reads every file of its
/// provisioning folder and prunes a provisioned datasource only when no file names it any more
/// (grafana/grafana pkg/services/provisioning/datasources/datasources.go, `applyChanges`: the
/// datasources that will exist are collected across all files first), so a datasource may move
/// between files and `prune: true` in each file still means "the folder is the whole truth".
/// `openshift`: the Thanos querier is reached with OpenShift's service CA.
pub fn of_grafana(
    platform: &Platform,
    grafana: &Grafana,
    openshift: bool,
) -> BTreeMap<ProvisioningFile, Vec<Datasource>> {
    let mut files: BTreeMap<ProvisioningFile, Vec<Datasource>> = BTreeMap::new();
    for id in datasources::of_grafana(platform, grafana) {
        let datasource = match &id.about {
            About::Backend(backend, environment) => {
                let Some(env) = platform.environments.get(environment) else { continue };
                backend_datasource(&id, *backend, environment, env)
            }
            About::Thanos(namespace) => {
                let Some(thanos) = grafana.thanos.as_ref() else { continue };
                thanos_datasource(&id, namespace, &thanos.url(), openshift)
            }
        };
        files.entry(id.file()).or_default().push(datasource);
    }
    files
}

fn backend_datasource(
    id: &DatasourceId,
    backend: Backend,
    env_name: &str,
    env: &crate::model::Environment,
) -> Datasource {
    let ns = env.monitoring_namespace.as_str();
    let has = |b: Backend| env.has(b);
    let uid = |b: Backend| Literal(datasources::backend_uid(b, env_name));
    let (kind, url) = match backend {
        Backend::Loki => ("loki", loki::query_url(ns)),
        Backend::Tempo => ("tempo", tempo::query_url(ns)),
        Backend::Mimir => ("prometheus", mimir::query_url(ns)),
        Backend::Pyroscope => ("grafana-pyroscope-datasource", pyroscope::url(ns)),
    };
    let mut d = Datasource {
        name: Literal(id.name.clone()),
        kind,
        uid: Literal(id.uid.clone()),
        access: "proxy",
        url: Literal(url),
        editable: false,
        json_data: JsonData::default(),
        secure_json_data: BTreeMap::new(),
    };
    let j = &mut d.json_data;
    match backend {
        Backend::Loki if has(Backend::Tempo) => {
            let view = |name: &str, matcher_type: &'static str, regex: &str| DerivedField {
                name: name.into(),
                matcher_type,
                matcher_regex: regex.into(),
                datasource_uid: uid(Backend::Tempo),
                // Grafana's placeholder for the matched value, written literally.
                url: "${__value.raw}".into(),
                url_display_label: "View trace".into(),
            };
            j.derived_fields = Some(vec![
                // OTLP logs carry the id as structured metadata; log lines often print it.
                view("trace_id", "label", "trace_id"),
                view("TraceID", "regex", r#"(?:trace_?id|traceID)["=: ]+"?([0-9a-fA-F]{16,32})"#),
            ]);
        }
        Backend::Tempo => {
            j.traces_to_logs_v2 = Some(TracesToLogs {
                datasource_uid: uid(Backend::Loki),
                filter_by_trace_id: true,
                span_start_time_shift: "-5m",
                span_end_time_shift: "5m",
                tags: vec![Tag { key: "k8s.namespace.name", value: "namespace" }],
            });
            j.loki_search = Some(DatasourceLink { datasource_uid: uid(Backend::Loki) });
            if has(Backend::Mimir) {
                j.traces_to_metrics = Some(TracesToMetrics {
                    datasource_uid: uid(Backend::Mimir),
                    tags: vec![Tag { key: "service.name", value: "service" }],
                    queries: vec![NamedQuery {
                        name: "Request rate",
                        // `$__tags` is Grafana's placeholder, written literally.
                        query: "sum(rate(traces_spanmetrics_calls_total{$__tags}[5m]))".into(),
                    }],
                });
                j.service_map = Some(DatasourceLink { datasource_uid: uid(Backend::Mimir) });
            }
            if has(Backend::Pyroscope) {
                j.traces_to_profiles = Some(TracesToProfiles {
                    datasource_uid: uid(Backend::Pyroscope),
                    profile_type_id: "process_cpu:cpu:nanoseconds:cpu:nanoseconds",
                    tags: vec![Tag { key: "service.name", value: "service_name" }],
                });
            }
            j.node_graph = Some(Enabled { enabled: true });
        }
        Backend::Mimir => {
            j.http_method = Some("POST");
            j.prometheus_type = Some("Mimir");
            if has(Backend::Tempo) {
                j.exemplar_trace_id_destinations = Some(vec![ExemplarDestination {
                    name: tempo::EXEMPLAR_TRACE_ID_LABEL,
                    datasource_uid: uid(Backend::Tempo),
                }]);
            }
        }
        _ => {}
    }
    d
}

fn thanos_datasource(id: &DatasourceId, namespace: &str, url: &str, openshift: bool) -> Datasource {
    let mut secure = BTreeMap::from([("httpHeaderValue1", EnvRef { prefix: "Bearer ", var: THANOS_TOKEN_ENV })]);
    if openshift {
        secure.insert("tlsCACert", EnvRef { prefix: "", var: THANOS_CA_ENV });
    }
    Datasource {
        name: Literal(id.name.clone()),
        kind: "prometheus",
        uid: Literal(id.uid.clone()),
        access: "proxy",
        url: url.into(),
        editable: false,
        json_data: JsonData {
            // The tenancy port takes the namespace as a query parameter and answers GET only.
            http_method: Some("GET"),
            custom_query_parameters: Some(Literal(format!("namespace={namespace}"))),
            http_header_name1: Some("Authorization"),
            tls_auth_with_ca_cert: openshift.then_some(true),
            ..JsonData::default()
        },
        secure_json_data: secure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap_or_default()
    }

    #[test]
    fn literals_double_every_dollar_and_env_refs_stay_references() {
        assert_eq!(text(&Literal::from("${__value.raw}")), "\"$${__value.raw}\"");
        assert_eq!(text(&Literal::from("rate(x{$__tags}[5m])")), "\"rate(x{$$__tags}[5m])\"");
        assert_eq!(text(&Literal::from("no dollar")), "\"no dollar\"");
        assert_eq!(text(&EnvRef { prefix: "Bearer ", var: "THANOS_TOKEN" }), "\"Bearer ${THANOS_TOKEN}\"");
        assert_eq!(text(&EnvRef { prefix: "", var: "THANOS_CA" }), "\"${THANOS_CA}\"");
    }
}
