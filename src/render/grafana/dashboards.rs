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
use crate::facts::datasources::{backend_uid, fit_uid, managed_namespaces, served_environments, thanos_uid};
use crate::model::{Grafana, Platform};
use crate::names::{object, Backend};
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

/// A dashboard obsc generates (the JSON model's fields obsc sets, in Grafana's order).
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
    pub panels: Vec<Panel>,
    /// The ConfigMap suffix and file stem.
    #[serde(skip)]
    pub name: String,
    #[serde(skip)]
    pub folder: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimeRange {
    pub from: &'static str,
    pub to: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    pub id: u32,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collapsed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasource: Option<DatasourceRef>,
    pub grid_pos: GridPos,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panels: Option<Vec<Panel>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<Query>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasourceRef {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uid: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GridPos {
    pub h: u32,
    pub w: u32,
    pub x: u32,
    pub y: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Query {
    pub ref_id: &'static str,
    pub datasource: DatasourceRef,
    pub expr: String,
}

impl Board {
    /// Every datasource UID the dashboard names (for the plan check).
    pub fn datasource_uids(&self) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        for p in &self.panels {
            out.extend(p.datasource.iter().map(|d| d.uid.as_str()));
            out.extend(p.targets.iter().flatten().map(|q| q.datasource.uid.as_str()));
        }
        out
    }
}

fn row(id: u32, title: &str, y: u32) -> Panel {
    Panel {
        id,
        kind: "row",
        title: title.to_string(),
        collapsed: Some(false),
        datasource: None,
        grid_pos: GridPos { h: 1, w: 24, x: 0, y },
        panels: Some(Vec::new()),
        targets: None,
    }
}

fn timeseries(id: u32, title: &str, datasource: DatasourceRef, expr: String, x: u32, y: u32) -> Panel {
    Panel {
        id,
        kind: "timeseries",
        title: title.to_string(),
        collapsed: None,
        datasource: Some(datasource.clone()),
        grid_pos: GridPos { h: 6, w: 8, x, y },
        panels: None,
        targets: Some(vec![Query { ref_id: "A", datasource, expr }]),
    }
}

/// The overview of one environment: a row per managed namespace with its collector's health
/// (Thanos: the collector Deployment's available replicas), its log rate (Loki) and its span
/// rate (Mimir span metrics from Tempo's generator).
fn environment_overview(platform: &Platform, grafana: &Grafana, environment: &str) -> Option<Board> {
    let env = platform.environments.get(environment)?;
    let loki = DatasourceRef { kind: "loki", uid: backend_uid(Backend::Loki, environment) };
    let mimir = env
        .mimir
        .is_some()
        .then(|| DatasourceRef { kind: "prometheus", uid: backend_uid(Backend::Mimir, environment) });
    let mut panels = Vec::new();
    let mut id = 1;
    let mut y = 0;
    let served = managed_namespaces(platform, grafana);
    for (ns, _) in
        platform.namespaces.iter().filter(|(n, ns)| ns.environment == environment && served.contains(&n.as_str()))
    {
        panels.push(row(id, ns, y));
        id += 1;
        y += 1;
        if grafana.thanos.is_some() {
            panels.push(timeseries(
                id,
                "Collector replicas available",
                DatasourceRef { kind: "prometheus", uid: thanos_uid(ns) },
                format!(
                    "sum(kube_deployment_status_replicas_available{{namespace=\"{ns}\", deployment=\"{}\"}})",
                    object::COLLECTOR
                ),
                0,
                y,
            ));
            id += 1;
        }
        panels.push(timeseries(
            id,
            "Log lines per second",
            loki.clone(),
            format!("sum(rate({{namespace=\"{ns}\"}}[5m]))"),
            8,
            y,
        ));
        id += 1;
        if let Some(mimir) = &mimir {
            panels.push(timeseries(
                id,
                "Spans per second",
                mimir.clone(),
                format!("sum(rate(traces_spanmetrics_calls_total{{k8s_namespace_name=\"{ns}\"}}[5m]))"),
                16,
                y,
            ));
            id += 1;
        }
        y += 6;
    }
    Some(Board {
        uid: fit_uid(format!("obsc-env-{environment}")),
        title: format!("Environment {environment}"),
        description: "Generated by obsc from the platform topology: edit the topology, not this dashboard.",
        tags: vec!["obsc", "environment"],
        schema_version: SCHEMA_VERSION,
        editable: false,
        time: TimeRange { from: "now-6h", to: "now" },
        refresh: "1m",
        panels,
        name: format!("env-{environment}"),
        folder: "Environments",
    })
}

/// Every dashboard obsc generates for a Grafana.
pub fn generated(platform: &Platform, grafana: &Grafana) -> Vec<Board> {
    served_environments(platform, grafana).filter_map(|(e, _)| environment_overview(platform, grafana, e)).collect()
}
