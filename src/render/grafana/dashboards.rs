//! Dashboards: the file provider Grafana reads them with, the k8s-sidecar that collects
//! ConfigMaps labelled `grafana_dashboard=1` from every watched namespace (each listed, with a
//! Role of its own: no ClusterRole in a namespaced tenancy), and the dashboards obsc generates
//! from the topology, built from typed panels.
//! Keys: grafana/grafana docs/sources/administration/provisioning (dashboards);
//! kiwigrid/k8s-sidecar README (LABEL, LABEL_VALUE, FOLDER, NAMESPACE, RESOURCE, FOLDER_ANNOTATION).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use serde::Serialize;

use super::NAME;
use crate::facts::addresses::grafana::pods;
use crate::facts::datasources::{
    backend_uid, fit_uid, managed_namespaces, served_environments, thanos_uid, THANOS_NAME_PREFIX,
};
use crate::facts::scrape;
use crate::model::{Grafana, Platform};
use crate::names::{object, Backend};
use crate::render::monitoring::signal;
use crate::render::workload;

/// Where the sidecar writes dashboards and the file provider reads them.
pub const DASHBOARDS_DIR: &str = "/tmp/dashboards";
/// The label and annotation the sidecar looks for.
pub const DASHBOARD_LABEL: &str = "grafana_dashboard";
pub const FOLDER_ANNOTATION: &str = "grafana_folder";
/// The schema version obsc writes generated dashboards in.
pub const SCHEMA_VERSION: u32 = 41;

// ---- the provider ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvidersFile {
    api_version: u32,
    providers: Vec<Provider>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Provider {
    name: &'static str,
    org_id: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    disable_deletion: bool,
    allow_ui_updates: bool,
    update_interval_seconds: u32,
    options: ProviderOptions,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderOptions {
    path: &'static str,
    folders_from_files_structure: bool,
}

pub fn providers() -> ProvidersFile {
    ProvidersFile {
        api_version: 1,
        providers: vec![Provider {
            name: "sidecar",
            org_id: 1,
            kind: "file",
            // Dashboards come from ConfigMaps: a change in the UI would be lost, so none is allowed.
            disable_deletion: true,
            allow_ui_updates: false,
            update_interval_seconds: 30,
            options: ProviderOptions { path: DASHBOARDS_DIR, folders_from_files_structure: true },
        }],
    }
}

// ---- the sidecar ----

/// Every namespace whose `grafana_dashboard=1` ConfigMaps the sidecar collects: Grafana's own,
/// the monitoring and managed namespaces of its environments, and the extra ones.
pub fn watched_namespaces(platform: &Platform, grafana: &Grafana) -> Vec<String> {
    let mut out = BTreeSet::from([grafana.namespace.clone()]);
    for (_, env) in served_environments(platform, grafana) {
        out.insert(env.monitoring_namespace.clone());
    }
    out.extend(managed_namespaces(platform, grafana).into_iter().map(str::to_string));
    out.extend(grafana.dashboards.extra_namespaces.iter().cloned());
    out.into_iter().collect()
}

/// The sidecar's Role (and its binding) in one watched namespace: read ConfigMaps, nothing more.
pub fn reader(g: &Grafana, name: &str, namespace: &str) -> (Role, RoleBinding) {
    let object = format!("grafana-dashboards-{}", g.namespace);
    workload::reader_role(&object, namespace, &pods(name), &["configmaps"], NAME, &g.namespace)
}

/// A dashboard as a ConfigMap the sidecar picks up.
pub fn config_map(grafana_name: &str, namespace: &str, board: &str, folder: &str, text: &str) -> ConfigMap {
    let mut cm = workload::config_map(
        &format!("grafana-dashboard-{board}"),
        namespace,
        &pods(grafana_name),
        BTreeMap::from([(format!("{board}.json"), text.to_string())]),
    );
    if let Some(labels) = cm.metadata.labels.as_mut() {
        labels.insert(DASHBOARD_LABEL.to_string(), "1".to_string());
    }
    cm.metadata.annotations = Some(BTreeMap::from([(FOLDER_ANNOTATION.to_string(), folder.to_string())]));
    cm
}

// ---- generated dashboards, typed ----

/// A dashboard obsc generates (the JSON model's fields obsc sets, in Grafana's order). Its size
/// does not depend on how many namespaces an environment has: the namespace is a template
/// variable, not a row each.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Board {
    pub uid: String,
    pub title: String,
    pub description: &'static str,
    pub tags: Vec<&'static str>,
    pub schema_version: u32,
    pub editable: bool,
    pub time: TimeRange,
    pub refresh: &'static str,
    pub templating: Templating,
    pub panels: Vec<Panel>,
    /// The ConfigMap suffix and file stem.
    #[serde(skip)]
    pub name: String,
    #[serde(skip)]
    pub folder: &'static str,
    /// The environment whose data it shows: a datasource variable selects among this
    /// environment's datasources only.
    #[serde(skip)]
    pub environment: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimeRange {
    pub from: &'static str,
    pub to: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Templating {
    pub list: Vec<Variable>,
}

/// A template variable. Field names are those of the dashboard JSON model (grafana/grafana
/// docs/sources/dashboards/build-dashboards/view-dashboard-json-model).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Variable {
    Query(QueryVariable),
    Datasource(DatasourceVariable),
}

/// Values a datasource query returns, refreshed when the dashboard loads.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryVariable {
    pub name: &'static str,
    pub label: &'static str,
    pub datasource: DatasourceRef,
    pub query: VariableQuery,
    /// 1: on dashboard load.
    pub refresh: u8,
    /// 1: alphabetical, ascending.
    pub sort: u8,
    pub multi: bool,
    pub include_all: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_value: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum VariableQuery {
    /// Loki's variable query (grafana/grafana public/app/plugins/datasource/loki/types.ts,
    /// `LokiVariableQuery`).
    Loki(LokiVariableQuery),
    /// PromQL's `label_values(<series>, <label>)`, which the Prometheus datasource reads as a
    /// variable query (public/app/plugins/datasource/prometheus, `migrateVariableQueryToEditor`).
    Promql(String),
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LokiVariableQuery {
    pub ref_id: &'static str,
    /// `LokiVariableQueryType`: 0 label names, 1 label values.
    #[serde(rename = "type")]
    pub kind: u8,
    pub label: &'static str,
    pub stream: &'static str,
}

/// A hidden variable that picks one datasource of a plugin by name. Grafana interpolates the
/// other variables in `regex` before matching names (grafana/scenes
/// packages/scenes/src/variables/variants/DataSourceVariable.ts: `sceneGraph.interpolate(this,
/// this.state.regex, undefined, 'regex')`), and re-runs when they change; the dashboard JSON's
/// `query` is the plugin id.
#[derive(Debug, Clone)]
pub struct DatasourceVariable {
    pub name: &'static str,
    pub plugin: &'static str,
    /// Selects the datasource named `<name_prefix><value of by>`.
    pub name_prefix: &'static str,
    pub by: &'static str,
}

impl Serialize for DatasourceVariable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut v = s.serialize_struct("DatasourceVariable", 5)?;
        v.serialize_field("name", self.name)?;
        v.serialize_field("query", self.plugin)?;
        // Datasource names and namespaces are written without regex metacharacters (DNS
        // labels and a space), so the anchored pattern matches exactly one name.
        v.serialize_field("regex", &format!("/^{}${{{}}}$/", self.name_prefix, self.by))?;
        v.serialize_field("refresh", &1)?;
        // 2: hidden; the namespace variable is the choice the reader makes.
        v.serialize_field("hide", &2)?;
        v.end()
    }
}

impl DatasourceVariable {
    /// The datasource name it selects when `by` has the value `value`.
    pub fn selects(&self, value: &str) -> String {
        format!("{}{value}", self.name_prefix)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    pub id: u32,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub datasource: DatasourceRef,
    pub grid_pos: GridPos,
    pub targets: Vec<Query>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasourceRef {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uid: Uid,
}

/// A datasource UID as a dashboard writes it: provisioned, or chosen by a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uid {
    Provisioned(String),
    /// `${name}`: the datasource variable `name`.
    Variable(&'static str),
}

impl Serialize for Uid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Uid::Provisioned(uid) => s.serialize_str(uid),
            Uid::Variable(name) => s.serialize_str(&format!("${{{name}}}")),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GridPos {
    pub h: u32,
    pub w: u32,
    pub x: u32,
    pub y: u32,
}

/// A panel's query: PromQL or LogQL (`expr`, with exemplars where asked), or a Tempo query
/// (`queryType` and its TraceQL `query`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Query {
    pub ref_id: &'static str,
    pub datasource: DatasourceRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expr: Option<String>,
    /// Prometheus: show the exemplars of the series (the datasource links them to traces).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exemplar: bool,
    /// Tempo: `traceql` (a TraceQL query) or `serviceMap` (the service graph).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl Query {
    fn expr(datasource: DatasourceRef, expr: String) -> Query {
        Query { ref_id: "A", datasource, expr: Some(expr), exemplar: false, query_type: None, query: None, limit: None }
    }

    fn tempo(datasource: DatasourceRef, query_type: &'static str, query: Option<String>) -> Query {
        let limit = query.is_some().then_some(20);
        Query { ref_id: "A", datasource, expr: None, exemplar: false, query_type: Some(query_type), query, limit }
    }
}

impl Board {
    /// Every datasource reference the dashboard makes: its variables', its panels' and their
    /// queries' (for the plan check).
    pub fn datasource_refs(&self) -> Vec<&DatasourceRef> {
        let mut out = Vec::new();
        for v in &self.templating.list {
            if let Variable::Query(q) = v {
                out.push(&q.datasource);
            }
        }
        for p in &self.panels {
            out.push(&p.datasource);
            out.extend(p.targets.iter().map(|q| &q.datasource));
        }
        out
    }

    /// The datasource variable called `name`, if the dashboard defines one.
    pub fn datasource_variable(&self, name: &str) -> Option<&DatasourceVariable> {
        self.templating.list.iter().find_map(|v| match v {
            Variable::Datasource(d) if d.name == name => Some(d),
            _ => None,
        })
    }

    /// Whether the dashboard defines a variable called `name`.
    pub fn defines(&self, name: &str) -> bool {
        self.templating.list.iter().any(|v| match v {
            Variable::Query(q) => q.name == name,
            Variable::Datasource(d) => d.name == name,
        })
    }
}

fn timeseries(id: u32, title: &str, datasource: DatasourceRef, expr: String, x: u32) -> Panel {
    panel(id, "timeseries", title, Query::expr(datasource, expr), GridPos { h: 8, w: 8, x, y: 0 })
}

fn panel(id: u32, kind: &'static str, title: &str, query: Query, grid_pos: GridPos) -> Panel {
    Panel { id, kind, title: title.to_string(), datasource: query.datasource.clone(), grid_pos, targets: vec![query] }
}

/// The variable every overview panel filters by.
const NAMESPACE: &str = "namespace";
/// The hidden variable that picks the chosen namespace's Thanos datasource.
const THANOS: &str = "thanos";
const SERVICE: &str = "service";

/// The overview of one environment, for the namespace chosen in its `namespace` variable (the
/// values of Loki's `namespace` label: every namespace that ships logs): its collector's health
/// (Thanos, through the namespace's own datasource: the collector Deployment's available
/// replicas), its log rate (Loki) and its span rate per service (Mimir span metrics from
/// Tempo's generator, which labels them `k8s_namespace_name`).
fn environment_overview(platform: &Platform, grafana: &Grafana, environment: &str) -> Option<Board> {
    let env = platform.environments.get(environment)?;
    let loki = DatasourceRef { kind: "loki", uid: Uid::Provisioned(backend_uid(Backend::Loki, environment)) };
    let mimir = env
        .mimir
        .is_some()
        .then(|| DatasourceRef { kind: "prometheus", uid: Uid::Provisioned(backend_uid(Backend::Mimir, environment)) });
    let mut variables = vec![logged_namespace_variable(&loki)];
    let mut panels = Vec::new();
    if grafana.thanos.is_some() {
        variables.push(Variable::Datasource(DatasourceVariable {
            name: THANOS,
            plugin: "prometheus",
            name_prefix: THANOS_NAME_PREFIX,
            by: NAMESPACE,
        }));
        panels.push(timeseries(
            1,
            "Collector replicas available",
            DatasourceRef { kind: "prometheus", uid: Uid::Variable(THANOS) },
            format!(
                "sum(kube_deployment_status_replicas_available{{namespace=\"${NAMESPACE}\", deployment=\"{}\"}})",
                object::COLLECTOR
            ),
            0,
        ));
    }
    panels.push(timeseries(
        2,
        "Log lines per second",
        loki.clone(),
        format!("sum(rate({{namespace=\"${NAMESPACE}\"}}[5m]))"),
        8,
    ));
    if let Some(mimir) = &mimir {
        variables.push(service_variable(mimir));
        panels.push(timeseries(
            3,
            "Spans per second by service",
            mimir.clone(),
            format!(
                "sum by (service) (rate(traces_spanmetrics_calls_total{{k8s_namespace_name=\"${NAMESPACE}\", service=~\"${SERVICE}\"}}[5m]))"
            ),
            16,
        ));
    }
    Some(board("env", "Environment", "environment", environment, variables, panels))
}

/// A generated dashboard of one environment: `<name>-<environment>`, titled `<title>
/// <environment>`.
fn board(
    name: &str,
    title: &str,
    tag: &'static str,
    environment: &str,
    variables: Vec<Variable>,
    panels: Vec<Panel>,
) -> Board {
    Board {
        uid: fit_uid(format!("obsc-{name}-{environment}")),
        title: format!("{title} {environment}"),
        description: "Generated by obsc from the platform topology: edit the topology, not this dashboard.",
        tags: vec!["obsc", tag],
        schema_version: SCHEMA_VERSION,
        editable: false,
        time: TimeRange { from: "now-6h", to: "now" },
        refresh: "1m",
        templating: Templating { list: variables },
        panels,
        name: format!("{name}-{environment}"),
        folder: "Environments",
        environment: environment.to_string(),
    }
}

/// The services of the namespace chosen (its span metrics' values), several at once.
fn service_variable(mimir: &DatasourceRef) -> Variable {
    Variable::Query(QueryVariable {
        name: SERVICE,
        label: "Service",
        datasource: mimir.clone(),
        query: VariableQuery::Promql(format!(
            "label_values(traces_spanmetrics_calls_total{{k8s_namespace_name=\"${NAMESPACE}\"}}, service)"
        )),
        refresh: 1,
        sort: 1,
        multi: true,
        include_all: true,
        all_value: Some(".*"),
    })
}

/// The namespaces whose services send traces: the values of the span metrics' namespace label.
fn traced_namespace_variable(mimir: &DatasourceRef) -> Variable {
    Variable::Query(QueryVariable {
        name: NAMESPACE,
        label: "Namespace",
        datasource: mimir.clone(),
        query: VariableQuery::Promql("label_values(traces_spanmetrics_calls_total, k8s_namespace_name)".to_string()),
        refresh: 1,
        sort: 1,
        multi: false,
        include_all: false,
        all_value: None,
    })
}

/// The namespaces that ship logs: the values of Loki's `namespace` label.
fn logged_namespace_variable(loki: &DatasourceRef) -> Variable {
    Variable::Query(QueryVariable {
        name: NAMESPACE,
        label: "Namespace",
        datasource: loki.clone(),
        query: VariableQuery::Loki(LokiVariableQuery {
            ref_id: "LokiVariableQueryEditor-VariableQuery",
            kind: 1,
            label: "namespace",
            stream: "",
        }),
        refresh: 1,
        sort: 1,
        multi: false,
        include_all: false,
        all_value: None,
    })
}

/// RED of a namespace's services from Tempo's span metrics in Mimir (the metrics generator
/// writes `traces_spanmetrics_calls_total` and the `traces_spanmetrics_latency` histogram,
/// labelled `service`, `status_code` and the namespace as `k8s_namespace_name`): requests,
/// errors (`STATUS_CODE_ERROR`) and p95 latency, whose exemplars the Mimir datasource links to
/// their traces in Tempo.
fn services(environment: &str, env: &crate::model::Environment) -> Option<Board> {
    env.tempo.as_ref()?;
    env.mimir.as_ref()?;
    let mimir = DatasourceRef { kind: "prometheus", uid: Uid::Provisioned(backend_uid(Backend::Mimir, environment)) };
    let selector = format!("k8s_namespace_name=\"${NAMESPACE}\", service=~\"${SERVICE}\"");
    let at = |x: u32| GridPos { h: 8, w: 8, x, y: 0 };
    let mut latency = Query::expr(
        mimir.clone(),
        format!("histogram_quantile(0.95, sum by (le, service) (rate(traces_spanmetrics_latency_bucket{{{selector}}}[5m])))"),
    );
    latency.exemplar = true;
    let panels = vec![
        timeseries(1, "Requests per second", mimir.clone(), format!("sum by (service) (rate(traces_spanmetrics_calls_total{{{selector}}}[5m]))"), 0),
        timeseries(
            2,
            "Errors per second",
            mimir.clone(),
            format!("sum by (service) (rate(traces_spanmetrics_calls_total{{{selector}, status_code=\"STATUS_CODE_ERROR\"}}[5m]))"),
            8,
        ),
        panel(3, "timeseries", "Latency p95 (exemplars link to traces)", latency, at(16)),
    ];
    let variables = vec![traced_namespace_variable(&mimir), service_variable(&mimir)];
    Some(board("services", "Services", "services", environment, variables, panels))
}

/// The traces of a namespace: a TraceQL search of its recent traces, and the service graph
/// Tempo draws from Mimir's service-graph metrics (its datasource's `serviceMap` link).
fn traces(environment: &str, env: &crate::model::Environment) -> Option<Board> {
    env.tempo.as_ref()?;
    env.mimir.as_ref()?;
    let tempo = DatasourceRef { kind: "tempo", uid: Uid::Provisioned(backend_uid(Backend::Tempo, environment)) };
    let mimir = DatasourceRef { kind: "prometheus", uid: Uid::Provisioned(backend_uid(Backend::Mimir, environment)) };
    let search =
        Query::tempo(tempo.clone(), "traceql", Some(format!("{{ resource.k8s.namespace.name = \"${NAMESPACE}\" }}")));
    let panels = vec![
        panel(1, "table", "Recent traces", search, GridPos { h: 10, w: 24, x: 0, y: 0 }),
        panel(
            2,
            "nodeGraph",
            "Service graph",
            Query::tempo(tempo, "serviceMap", None),
            GridPos { h: 12, w: 24, x: 0, y: 10 },
        ),
    ];
    Some(board("traces", "Traces", "traces", environment, vec![traced_namespace_variable(&mimir)], panels))
}

/// A managed namespace through its own Thanos datasource (the cluster's metrics of that
/// namespace): CPU and memory by pod (the kubelet's cAdvisor series), restarts
/// (kube-state-metrics), and its collector's scrape.
fn namespace_metrics(grafana: &Grafana, environment: &str) -> Option<Board> {
    grafana.thanos.as_ref()?;
    let loki = DatasourceRef { kind: "loki", uid: Uid::Provisioned(backend_uid(Backend::Loki, environment)) };
    let thanos = DatasourceRef { kind: "prometheus", uid: Uid::Variable(THANOS) };
    let ns = format!("namespace=\"${NAMESPACE}\"");
    let panels = vec![
        timeseries(
            1,
            "CPU by pod (cores)",
            thanos.clone(),
            format!("sum by (pod) (rate(container_cpu_usage_seconds_total{{{ns}, container!=\"\"}}[5m]))"),
            0,
        ),
        timeseries(
            2,
            "Memory by pod (working set)",
            thanos.clone(),
            format!("sum by (pod) (container_memory_working_set_bytes{{{ns}, container!=\"\"}})"),
            8,
        ),
        timeseries(
            3,
            "Restarts in the last hour",
            thanos.clone(),
            format!("sum by (pod) (increase(kube_pod_container_status_restarts_total{{{ns}}}[1h]))"),
            16,
        ),
        panel(
            4,
            "timeseries",
            "Collector scraped (1: up)",
            Query::expr(
                thanos,
                format!("up{{{ns}, job=\"{}\"}}", scrape::job(&format!("${NAMESPACE}"), object::COLLECTOR)),
            ),
            GridPos { h: 8, w: 8, x: 0, y: 8 },
        ),
    ];
    let variables = vec![
        logged_namespace_variable(&loki),
        Variable::Datasource(DatasourceVariable {
            name: THANOS,
            plugin: "prometheus",
            name_prefix: THANOS_NAME_PREFIX,
            by: NAMESPACE,
        }),
    ];
    Some(board("namespace", "Namespace", "namespace", environment, variables, panels))
}

/// The health of an environment's own components, a row each, from the signals its alerts read
/// (`crate::render::monitoring`), through the Thanos datasource of its monitoring namespace:
/// which scrape targets are up and how full the claims are, and per backend its failed pushes,
/// its discards at the tenants' limits, its object storage failures and how long ago retention
/// or compaction last ran.
fn platform_health(grafana: &Grafana, environment: &str, env: &crate::model::Environment) -> Option<Board> {
    grafana.thanos.as_ref()?;
    let ns = env.monitoring_namespace.as_str();
    let thanos = DatasourceRef { kind: "prometheus", uid: Uid::Provisioned(thanos_uid(ns)) };
    let job = |name: &str| scrape::job(ns, name);
    let mut rows: Vec<Vec<(&str, String)>> = vec![
        vec![
            ("Scrape targets up, by job", format!("sum by (job) (up{{namespace=\"{ns}\"}})")),
            (
                "Claims free (%)",
                format!("100 * kubelet_volume_stats_available_bytes{{namespace=\"{ns}\"}} / kubelet_volume_stats_capacity_bytes{{namespace=\"{ns}\"}}"),
            ),
        ],
        vec![
            ("Loki: pushes failed (%)", signal::LOKI_PUSHES.failed_percent(&job("loki"))),
            ("Loki: discarded at limits", format!("sum by (reason) (rate(loki_discarded_samples_total{{job=\"{}\"}}[5m]))", job("loki"))),
            (
                "Loki: hours since retention ran",
                format!("({}) / 3600", signal::seconds_since(signal::LOKI_RETENTION_RAN, &job("loki"))),
            ),
        ],
    ];
    if env.mimir.is_some() {
        rows.push(vec![
            ("Mimir: pushes failed (%)", signal::MIMIR_PUSHES.failed_percent(&job("mimir"))),
            (
                "Mimir: object storage failures",
                format!(
                    "sum by (operation) (rate(thanos_objstore_bucket_operation_failures_total{{job=\"{}\"}}[5m]))",
                    job("mimir")
                ),
            ),
            (
                "Mimir: hours since compaction ran",
                format!("({}) / 3600", signal::seconds_since(signal::MIMIR_COMPACTION_RAN, &job("mimir"))),
            ),
        ]);
    }
    if env.tempo.is_some() {
        rows.push(vec![
            (
                "Tempo: discarded at limits",
                format!("sum by (reason) (rate(tempo_discarded_spans_total{{job=\"{}\"}}[5m]))", job("tempo")),
            ),
            (
                "Tempo: object storage errors",
                format!(
                    "sum(rate(tempodb_backend_request_duration_seconds_count{{job=\"{}\", status_code=~\"5..\"}}[5m]))",
                    job("tempo")
                ),
            ),
        ]);
    }
    let mut panels = Vec::new();
    for (y, row) in (0u32..).zip(rows) {
        for (x, (title, expr)) in (0u32..).zip(row) {
            let id = u32::try_from(panels.len()).unwrap_or(u32::MAX) + 1;
            let at = GridPos { h: 8, w: 8, x: 8 * x, y: 8 * y };
            panels.push(panel(id, "timeseries", title, Query::expr(thanos.clone(), expr), at));
        }
    }
    Some(board("health", "Platform health", "health", environment, Vec::new(), panels))
}

/// Every dashboard obsc generates for a Grafana: per environment it serves, the overview, the
/// services (RED from span metrics), the traces, the namespace metrics and the platform's
/// health, each sized independently of the number of namespaces (a variable chooses one).
pub fn generated(platform: &Platform, grafana: &Grafana) -> Vec<Board> {
    served_environments(platform, grafana)
        .flat_map(|(e, env)| {
            [
                environment_overview(platform, grafana, e),
                services(e, env),
                traces(e, env),
                namespace_metrics(grafana, e),
                platform_health(grafana, e, env),
            ]
        })
        .flatten()
        .collect()
}
