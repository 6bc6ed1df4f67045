//! The shared Grafana: a stateless Deployment scaled by an HPA (PostgreSQL database, Redis
//! remote cache, alerting HA peers through a headless Service), Keycloak SSO, datasources
//! provisioned from the topology and correlated with each other, dashboards from ConfigMaps
//! collected by the k8s-sidecar.
//!
//! The datasource list is made by one function, [`datasources`], which the renderer, the checker
//! and the generated dashboards share; every UID comes from [`backend_uid`] or [`thanos_uid`].
//!
//! Provisioning files and `$`: Grafana expands `$VAR` and `${VAR}` from its environment in every
//! value of a provisioning file, and reads `$$` as one literal `$`. obsc writes every literal
//! value through [`escape_dollars`] and only the values of `secureJsonData` as environment
//! references (built by [`env_ref`]), so a Secret's value reaches Grafana through the pod's
//! environment and a literal such as `${__value.raw}` reaches it intact.
//! Keys: grafana/grafana docs/sources/administration/provisioning (v13).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
    ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    ConfigMapKeySelector, EnvVar, EnvVarSource, ObjectFieldSelector, Service, ServiceAccount, ServicePort, ServiceSpec,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, IPBlock, Ingress, IngressBackend, IngressRule, IngressServiceBackend,
    IngressSpec, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyPeer, ServiceBackendPort,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use super::meta::{self, Labels};
use super::{loki, mimir, network, pod, pyroscope, tempo, workload, Context};
use crate::dashboards::{self, Dashboard};
use crate::model::{Grafana, Keycloak, Platform, Resources, Tenancy};
use crate::names::{service_host, Backend};
use crate::plan::{Object, Route, RoutePort, RouteSpec, RouteTarget, RouteTls};
use crate::secrets;

pub const HTTP_PORT: u16 = 3000;
/// Alertmanager gossip between the replicas (memberlist: TCP and UDP).
pub const ALERTING_PORT: u16 = 9094;
/// The object name of everything in Grafana's namespace.
pub const NAME: &str = "grafana";
const ALERTING_SERVICE: &str = "grafana-alerting";
const DATASOURCES_CONFIG_MAP: &str = "grafana-datasources";
const PROVIDERS_CONFIG_MAP: &str = "grafana-dashboard-providers";
/// OpenShift's service CA operator fills this ConfigMap with the CA that signs the Thanos
/// querier's serving certificate.
const SERVICE_CA_CONFIG_MAP: &str = "grafana-service-ca";
const SERVICE_CA_KEY: &str = "service-ca.crt";
/// Where the sidecar writes dashboards and the file provider reads them.
pub const DASHBOARDS_DIR: &str = "/tmp/dashboards";
/// The label and annotation the sidecar looks for.
pub const DASHBOARD_LABEL: &str = "grafana_dashboard";
pub const FOLDER_ANNOTATION: &str = "grafana_folder";
/// Grafana's limit on datasource and dashboard UIDs.
pub const MAX_UID: usize = 40;
/// Environment variables the provisioning file refers to.
pub const THANOS_TOKEN_ENV: &str = "THANOS_TOKEN";
pub const THANOS_CA_ENV: &str = "THANOS_CA";
/// The label OpenShift puts on the namespaces of its ingress routers.
pub const OPENSHIFT_INGRESS_LABEL: &str = "policy-group.network.openshift.io/ingress";
/// Where ingress-nginx runs on a cluster of one's own (kind).
pub const INGRESS_NGINX_NAMESPACE: &str = "ingress-nginx";

pub fn pods(grafana_name: &str) -> Labels {
    meta::selector("grafana", "server", grafana_name)
}

// ---- UIDs: the one place they are made ----

/// A UID Grafana accepts: at most 40 characters. Names are DNS labels, so only the length can be
/// wrong; a longer one is cut, and the checker reports two names cut to the same UID.
fn fit(uid: String) -> String {
    uid.chars().take(MAX_UID).collect()
}

/// The datasource UID of an environment's backend: its instance name (`loki-prod`).
pub fn backend_uid(backend: Backend, environment: &str) -> String {
    fit(backend.instance(environment))
}

/// The Thanos datasource UID of a managed namespace: `thanos-<namespace>`.
pub fn thanos_uid(namespace: &str) -> String {
    fit(format!("thanos-{namespace}"))
}

/// `$` written so that Grafana's provisioning reads it literally.
pub fn escape_dollars(s: &str) -> String {
    s.replace('$', "$$")
}

/// A value Grafana takes from its environment when it reads the provisioning file.
pub fn env_ref(var: &str) -> String {
    format!("${{{var}}}")
}

// ---- the datasource provisioning file, typed ----

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
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub uid: String,
    pub access: &'static str,
    pub url: String,
    pub editable: bool,
    pub json_data: JsonData,
    /// Only environment references (see the module doc).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secure_json_data: BTreeMap<&'static str, String>,
    /// What the datasource is for, in obsc's words (not written).
    #[serde(skip)]
    pub about: About,
}

/// Which topology value a datasource comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum About {
    #[default]
    None,
    Backend(Backend, String),
    Thanos(String),
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prometheus_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_query_parameters: Option<String>,
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
    pub name: String,
    pub matcher_type: &'static str,
    pub matcher_regex: String,
    pub datasource_uid: String,
    pub url: String,
    pub url_display_label: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TracesToLogs {
    pub datasource_uid: String,
    #[serde(rename = "filterByTraceID")]
    pub filter_by_trace_id: bool,
    pub span_start_time_shift: &'static str,
    pub span_end_time_shift: &'static str,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TracesToMetrics {
    pub datasource_uid: String,
    pub tags: Vec<Tag>,
    pub queries: Vec<NamedQuery>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TracesToProfiles {
    pub datasource_uid: String,
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
    pub query: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasourceLink {
    pub datasource_uid: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Enabled {
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExemplarDestination {
    pub name: &'static str,
    pub datasource_uid: String,
}

impl Datasource {
    /// Every other datasource this one links to: (what links, the UID it names).
    pub fn references(&self) -> Vec<(&'static str, &str)> {
        let j = &self.json_data;
        let mut out = Vec::new();
        for f in j.derived_fields.iter().flatten() {
            out.push(("derivedFields", f.datasource_uid.as_str()));
        }
        if let Some(l) = &j.traces_to_logs_v2 {
            out.push(("tracesToLogsV2", l.datasource_uid.as_str()));
        }
        if let Some(m) = &j.traces_to_metrics {
            out.push(("tracesToMetrics", m.datasource_uid.as_str()));
        }
        if let Some(p) = &j.traces_to_profiles {
            out.push(("tracesToProfiles", p.datasource_uid.as_str()));
        }
        if let Some(s) = &j.service_map {
            out.push(("serviceMap", s.datasource_uid.as_str()));
        }
        if let Some(s) = &j.loki_search {
            out.push(("lokiSearch", s.datasource_uid.as_str()));
        }
        for e in j.exemplar_trace_id_destinations.iter().flatten() {
            out.push(("exemplarTraceIdDestinations", e.datasource_uid.as_str()));
        }
        out
    }
}

/// The managed namespaces a Grafana serves (those of its environments), in name order.
pub fn managed_namespaces<'a>(platform: &'a Platform, grafana: &'a Grafana) -> Vec<&'a str> {
    platform
        .namespaces
        .iter()
        .filter(|(_, ns)| grafana.environments.contains(&ns.environment))
        .map(|(name, _)| name.as_str())
        .collect()
}

/// The environments a Grafana serves that exist, in name order.
fn environments<'a>(
    platform: &'a Platform,
    grafana: &'a Grafana,
) -> impl Iterator<Item = (&'a String, &'a crate::model::Environment)> {
    platform.environments.iter().filter(|(name, _)| grafana.environments.contains(name))
}

/// Every datasource of a Grafana: per environment Loki, Tempo, Mimir and Pyroscope, linked to
/// each other; per managed namespace a Thanos datasource, when Thanos is configured.
pub fn datasources(platform: &Platform, grafana: &Grafana) -> Vec<Datasource> {
    let mut out = Vec::new();
    for (env_name, env) in environments(platform, grafana) {
        let ns = env.monitoring_namespace.as_str();
        let has = |b: Backend| env.has(b);
        let uid = |b: Backend| backend_uid(b, env_name);
        let base = |b: Backend, kind: &'static str, title: &str, url: String| Datasource {
            name: format!("{title} {env_name}"),
            kind,
            uid: uid(b),
            access: "proxy",
            url,
            editable: false,
            json_data: JsonData::default(),
            secure_json_data: BTreeMap::new(),
            about: About::Backend(b, env_name.clone()),
        };
        let mut loki = base(Backend::Loki, "loki", "Loki", loki::query_url(ns));
        if has(Backend::Tempo) {
            loki.json_data.derived_fields = Some(vec![
                // OTLP logs carry the id as structured metadata; log lines often print it.
                DerivedField {
                    name: "trace_id".to_string(),
                    matcher_type: "label",
                    matcher_regex: "trace_id".to_string(),
                    datasource_uid: uid(Backend::Tempo),
                    url: "${__value.raw}".to_string(),
                    url_display_label: "View trace".to_string(),
                },
                DerivedField {
                    name: "TraceID".to_string(),
                    matcher_type: "regex",
                    matcher_regex: r#"(?:trace_?id|traceID)["=: ]+"?([0-9a-fA-F]{16,32})"#.to_string(),
                    datasource_uid: uid(Backend::Tempo),
                    url: "${__value.raw}".to_string(),
                    url_display_label: "View trace".to_string(),
                },
            ]);
        }
        out.push(loki);
        if has(Backend::Tempo) {
            let mut t = base(Backend::Tempo, "tempo", "Tempo", tempo::query_url(ns));
            t.json_data.traces_to_logs_v2 = Some(TracesToLogs {
                datasource_uid: uid(Backend::Loki),
                filter_by_trace_id: true,
                span_start_time_shift: "-5m",
                span_end_time_shift: "5m",
                tags: vec![Tag { key: "k8s.namespace.name", value: "namespace" }],
            });
            t.json_data.loki_search = Some(DatasourceLink { datasource_uid: uid(Backend::Loki) });
            if has(Backend::Mimir) {
                t.json_data.traces_to_metrics = Some(TracesToMetrics {
                    datasource_uid: uid(Backend::Mimir),
                    tags: vec![Tag { key: "service.name", value: "service" }],
                    queries: vec![NamedQuery {
                        name: "Request rate",
                        // `$__tags` is Grafana's placeholder, written literally (escaped below).
                        query: "sum(rate(traces_spanmetrics_calls_total{$__tags}[5m]))".to_string(),
                    }],
                });
                t.json_data.service_map = Some(DatasourceLink { datasource_uid: uid(Backend::Mimir) });
            }
            if has(Backend::Pyroscope) {
                t.json_data.traces_to_profiles = Some(TracesToProfiles {
                    datasource_uid: uid(Backend::Pyroscope),
                    profile_type_id: "process_cpu:cpu:nanoseconds:cpu:nanoseconds",
                    tags: vec![Tag { key: "service.name", value: "service_name" }],
                });
            }
            t.json_data.node_graph = Some(Enabled { enabled: true });
            out.push(t);
        }
        if has(Backend::Mimir) {
            let mut m = base(Backend::Mimir, "prometheus", "Mimir", mimir::query_url(ns));
            m.json_data.http_method = Some("POST");
            m.json_data.prometheus_type = Some("Mimir");
            if has(Backend::Tempo) {
                m.json_data.exemplar_trace_id_destinations =
                    Some(vec![ExemplarDestination { name: "trace_id", datasource_uid: uid(Backend::Tempo) }]);
            }
            out.push(m);
        }
        if has(Backend::Pyroscope) {
            out.push(base(Backend::Pyroscope, "grafana-pyroscope-datasource", "Pyroscope", pyroscope::url(ns)));
        }
    }
    if let Some(thanos) = &grafana.thanos {
        for ns in managed_namespaces(platform, grafana) {
            let mut secure = BTreeMap::from([("httpHeaderValue1", format!("Bearer {}", env_ref(THANOS_TOKEN_ENV)))]);
            let openshift = platform.targets.get(&grafana.target).map(|t| t.tenancy) == Some(Tenancy::Namespaced);
            if openshift {
                secure.insert("tlsCACert", env_ref(THANOS_CA_ENV));
            }
            out.push(Datasource {
                name: format!("Thanos {ns}"),
                kind: "prometheus",
                uid: thanos_uid(ns),
                access: "proxy",
                url: thanos.url.clone(),
                editable: false,
                json_data: JsonData {
                    // The tenancy port takes the namespace as a query parameter and answers GET only.
                    http_method: Some("GET"),
                    custom_query_parameters: Some(format!("namespace={ns}")),
                    http_header_name1: Some("Authorization"),
                    tls_auth_with_ca_cert: openshift.then_some(true),
                    ..JsonData::default()
                },
                secure_json_data: secure,
                about: About::Thanos(ns.to_string()),
            });
        }
    }
    out
}

/// The provisioning file's text: every literal `$` doubled, `secureJsonData` left as written.
pub fn datasources_text(platform: &Platform, grafana: &Grafana) -> String {
    let file = DatasourceFile { api_version: 1, prune: true, datasources: datasources(platform, grafana) };
    let mut value = serde_json::to_value(&file).unwrap_or_default();
    escape_literals(&mut value);
    crate::emit::yaml(&value).unwrap_or_default()
}

fn escape_literals(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => *s = escape_dollars(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(escape_literals),
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key != "secureJsonData" {
                    escape_literals(v);
                }
            }
        }
        _ => {}
    }
}

// ---- dashboards provider ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProvidersFile {
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

pub fn providers_text() -> String {
    let file = ProvidersFile {
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
    };
    crate::emit::yaml(&file).unwrap_or_default()
}

// ---- Keycloak ----

/// The role mapping as Grafana's JMESPath: the first matching Keycloak realm role wins, the
/// default role (if any) last. Role names cannot hold `'` or `\` (the contract says so).
pub fn role_attribute_path(keycloak: &Keycloak) -> String {
    let mut parts: Vec<String> = keycloak
        .role_mapping
        .iter()
        .map(|m| format!("contains(realm_access.roles[*], '{}') && '{}'", m.keycloak_role, m.grafana_role.as_str()))
        .collect();
    if let Some(default) = keycloak.default_role {
        parts.push(format!("'{}'", default.as_str()));
    }
    parts.join(" || ")
}

fn oidc_url(keycloak: &Keycloak, endpoint: &str) -> String {
    format!("{}/protocol/openid-connect/{endpoint}", keycloak.realm_url.trim_end_matches('/'))
}

/// The port of an `http(s)://host[:port]/...` URL or a `host:port` address.
pub fn url_port(url: &str, default: u16) -> u16 {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let scheme_default = if url.starts_with("https://") {
        443
    } else if url.starts_with("http://") {
        80
    } else {
        default
    };
    match authority.rsplit_once(':') {
        Some((_, port)) => port.parse().unwrap_or(scheme_default),
        None => scheme_default,
    }
}

// ---- the objects ----

fn field_env(var: &str, path: &str) -> EnvVar {
    EnvVar {
        name: var.to_string(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector { field_path: path.to_string(), api_version: None }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn config_map_env(var: &str, config_map: &str, key: &str) -> EnvVar {
    EnvVar {
        name: var.to_string(),
        value_from: Some(EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector {
                name: config_map.to_string(),
                key: key.to_string(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn grafana_env(cx: &Context, name: &str, g: &Grafana) -> Vec<EnvVar> {
    let e = workload::env;
    let db = &g.database;
    let kc = &g.keycloak;
    let peers = format!("{}:{ALERTING_PORT}", service_host(ALERTING_SERVICE, &g.namespace));
    let mut env = vec![
        field_env("POD_IP", "status.podIP"),
        e("GF_SERVER_ROOT_URL", &g.root_url),
        e("GF_LOG_MODE", "console"),
        e("GF_ANALYTICS_REPORTING_ENABLED", "false"),
        e("GF_ANALYTICS_CHECK_FOR_UPDATES", "false"),
        // Shared state: PostgreSQL.
        e("GF_DATABASE_TYPE", "postgres"),
        e("GF_DATABASE_HOST", &format!("{}:{}", db.host, db.port)),
        e("GF_DATABASE_NAME", &db.name),
        e("GF_DATABASE_USER", &db.user),
        workload::secret_env("GF_DATABASE_PASSWORD", &db.secret, secrets::PASSWORD),
        e("GF_DATABASE_SSL_MODE", db.ssl_mode.as_str()),
    ];
    // Redis: Kubernetes expands `$(REDIS_PASSWORD)` from the variable defined just before.
    match &g.redis.secret {
        Some(secret) => {
            env.push(workload::secret_env("REDIS_PASSWORD", secret, secrets::PASSWORD));
            env.push(e("GF_REMOTE_CACHE_TYPE", "redis"));
            env.push(e("GF_REMOTE_CACHE_CONNSTR", &format!("addr={},password=$(REDIS_PASSWORD)", g.redis.address)));
        }
        None => {
            env.push(e("GF_REMOTE_CACHE_TYPE", "redis"));
            env.push(e("GF_REMOTE_CACHE_CONNSTR", &format!("addr={}", g.redis.address)));
        }
    }
    env.extend([
        // Alerting: the replicas gossip so that each alert is sent once.
        e("GF_UNIFIED_ALERTING_HA_PEERS", &peers),
        e("GF_UNIFIED_ALERTING_HA_LISTEN_ADDRESS", &format!("$(POD_IP):{ALERTING_PORT}")),
        e("GF_UNIFIED_ALERTING_HA_ADVERTISE_ADDRESS", &format!("$(POD_IP):{ALERTING_PORT}")),
        // Keycloak single sign-on; the login form and basic auth are off.
        e("GF_AUTH_DISABLE_LOGIN_FORM", "true"),
        e("GF_AUTH_BASIC_ENABLED", "false"),
        e("GF_AUTH_OAUTH_AUTO_LOGIN", "true"),
        e("GF_AUTH_GENERIC_OAUTH_ENABLED", "true"),
        e("GF_AUTH_GENERIC_OAUTH_NAME", "Keycloak"),
        e("GF_AUTH_GENERIC_OAUTH_ALLOW_SIGN_UP", "true"),
        e("GF_AUTH_GENERIC_OAUTH_USE_PKCE", "true"),
        e("GF_AUTH_GENERIC_OAUTH_CLIENT_ID", &kc.client_id),
        workload::secret_env("GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET", &kc.client_secret_secret, secrets::CLIENT_SECRET),
        e("GF_AUTH_GENERIC_OAUTH_SCOPES", &kc.scopes.join(" ")),
        e("GF_AUTH_GENERIC_OAUTH_AUTH_URL", &oidc_url(kc, "auth")),
        e("GF_AUTH_GENERIC_OAUTH_TOKEN_URL", &oidc_url(kc, "token")),
        e("GF_AUTH_GENERIC_OAUTH_API_URL", &oidc_url(kc, "userinfo")),
    ]);
    let path = role_attribute_path(kc);
    if !path.is_empty() {
        env.push(e("GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH", &path));
    }
    env.push(e("GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_STRICT", if kc.strict { "true" } else { "false" }));
    if let Some(thanos) = &g.thanos {
        env.push(workload::secret_env(THANOS_TOKEN_ENV, &thanos.token_secret, secrets::TOKEN));
        if cx.platform.targets.get(&g.target).map(|t| t.tenancy) == Some(Tenancy::Namespaced) {
            env.push(config_map_env(THANOS_CA_ENV, SERVICE_CA_CONFIG_MAP, SERVICE_CA_KEY));
        }
    }
    let _ = name;
    env
}

/// Every namespace whose `grafana_dashboard=1` ConfigMaps the sidecar collects: Grafana's own,
/// the monitoring and managed namespaces of its environments, and the extra ones.
pub fn watched_namespaces(platform: &Platform, grafana: &Grafana) -> Vec<String> {
    let mut out = BTreeSet::from([grafana.namespace.clone()]);
    for (_, env) in environments(platform, grafana) {
        out.insert(env.monitoring_namespace.clone());
    }
    out.extend(managed_namespaces(platform, grafana).into_iter().map(str::to_string));
    out.extend(grafana.dashboards.extra_namespaces.iter().cloned());
    out.into_iter().collect()
}

/// The target a watched namespace's Role renders into: the target that owns the namespace, or
/// Grafana's own for a namespace obsc does not otherwise know.
pub fn target_of_namespace<'a>(platform: &'a Platform, grafana: &'a Grafana, namespace: &str) -> &'a str {
    for (env_name, env) in &platform.environments {
        if env.monitoring_namespace == namespace {
            return env.target(env_name);
        }
    }
    if let Some(ns) = platform.namespaces.get(namespace) {
        if let Some((env_name, env)) = platform.environments.get_key_value(&ns.environment) {
            return env.target(env_name);
        }
    }
    &grafana.target
}

/// The sidecar's Role (and its binding) in one watched namespace: read ConfigMaps, nothing more.
pub fn dashboard_reader(g: &Grafana, name: &str, namespace: &str) -> (Role, RoleBinding) {
    let labels = pods(name);
    let object = format!("grafana-dashboards-{}", g.namespace);
    let role = Role {
        metadata: meta::object(&object, namespace, &labels),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["configmaps".to_string()]),
            verbs: vec!["get".to_string(), "list".to_string(), "watch".to_string()],
            ..PolicyRule::default()
        }]),
    };
    let binding = RoleBinding {
        metadata: meta::object(&object, namespace, &labels),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".to_string(),
            kind: "Role".to_string(),
            name: object,
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_string(),
            name: NAME.to_string(),
            namespace: Some(g.namespace.clone()),
            ..Subject::default()
        }]),
    };
    (role, binding)
}

/// A dashboard as a ConfigMap the sidecar picks up.
fn dashboard_config_map(name: &str, namespace: &str, dashboard: &Dashboard) -> Object {
    let mut cm = workload::config_map(
        &format!("grafana-dashboard-{}", dashboard.name),
        namespace,
        &pods(name),
        BTreeMap::from([(format!("{}.json", dashboard.name), dashboard.text.clone())]),
    );
    if let Some(labels) = cm.metadata.labels.as_mut() {
        labels.insert(DASHBOARD_LABEL.to_string(), "1".to_string());
    }
    cm.metadata.annotations = Some(BTreeMap::from([(FOLDER_ANNOTATION.to_string(), dashboard.folder.clone())]));
    cm.into()
}

/// The objects in Grafana's namespace (by target: the dashboard Roles of other namespaces go to
/// the targets that own them), and the provisioning files written beside them.
pub struct Rendered {
    pub objects: Vec<(String, Object)>,
    pub config_files: BTreeMap<String, String>,
}

pub fn render(cx: &Context, name: &str, g: &Grafana, files: &[Dashboard]) -> Rendered {
    let ns = g.namespace.as_str();
    let labels = pods(name);
    let tenancy = cx.platform.targets.get(&g.target).map(|t| t.tenancy).unwrap_or(Tenancy::Namespaced);
    let datasources = datasources_text(cx.platform, g);
    let providers = providers_text();
    let hash = super::sha256(&format!("{datasources}{providers}"));

    let mut grafana = pod::container("grafana", &cx.image("grafana"));
    grafana.env = Some(grafana_env(cx, name, g));
    grafana.ports = Some(vec![
        pod::port("http", HTTP_PORT, "TCP"),
        pod::port("alert-tcp", ALERTING_PORT, "TCP"),
        pod::port("alert-udp", ALERTING_PORT, "UDP"),
    ]);
    grafana.readiness_probe = Some(pod::http_probe("/api/health", "http", 10));
    grafana.liveness_probe = Some(pod::http_probe("/api/health", "http", 30));
    grafana.resources = Some(pod::resources(&g.resources));
    grafana.volume_mounts = Some(vec![
        pod::mount("data", "/var/lib/grafana", false),
        pod::mount("tmp", "/tmp", false),
        pod::mount("dashboards", DASHBOARDS_DIR, false),
        pod::mount("datasources", "/etc/grafana/provisioning/datasources", true),
        pod::mount("dashboard-providers", "/etc/grafana/provisioning/dashboards", true),
    ]);

    let watched = watched_namespaces(cx.platform, g);
    let mut sidecar = pod::container("dashboards", &cx.image("k8s-sidecar"));
    sidecar.env = Some(vec![
        workload::env("LABEL", DASHBOARD_LABEL),
        workload::env("LABEL_VALUE", "1"),
        workload::env("FOLDER", DASHBOARDS_DIR),
        workload::env("NAMESPACE", &watched.join(",")),
        workload::env("RESOURCE", "configmap"),
        workload::env("FOLDER_ANNOTATION", FOLDER_ANNOTATION),
        workload::env("METHOD", "WATCH"),
    ]);
    sidecar.resources = Some(pod::resources(&Resources {
        requests: crate::model::Quantities { cpu: "10m".to_string(), memory: "64Mi".to_string() },
        limits: crate::model::Quantities { cpu: "200m".to_string(), memory: "256Mi".to_string() },
    }));
    sidecar.volume_mounts =
        Some(vec![pod::mount("dashboards", DASHBOARDS_DIR, false), pod::mount("sidecar-tmp", "/tmp", false)]);

    let mut template = workload::template(
        &labels,
        vec![grafana, sidecar],
        vec![
            pod::empty_dir("data", "1Gi"),
            pod::empty_dir("tmp", "256Mi"),
            pod::empty_dir("dashboards", "256Mi"),
            pod::empty_dir("sidecar-tmp", "64Mi"),
            pod::config_map_volume("datasources", DATASOURCES_CONFIG_MAP),
            pod::config_map_volume("dashboard-providers", PROVIDERS_CONFIG_MAP),
        ],
        Some(hash),
    );
    if let Some(spec) = template.spec.as_mut() {
        // The sidecar lists ConfigMaps through the API.
        spec.automount_service_account_token = Some(true);
        spec.service_account_name = Some(NAME.to_string());
    }
    let mut deployment = workload::deployment(NAME, ns, &labels, g.replicas.min, template);
    if let Some(spec) = deployment.spec.as_mut() {
        // The HPA owns the replica count; a value here would reset it on every apply.
        spec.replicas = None;
    }

    let mut own: Vec<Object> = vec![
        ServiceAccount {
            metadata: meta::object(NAME, ns, &labels),
            automount_service_account_token: Some(true),
            ..ServiceAccount::default()
        }
        .into(),
        workload::config_map(
            DATASOURCES_CONFIG_MAP,
            ns,
            &labels,
            BTreeMap::from([("datasources.yaml".to_string(), datasources.clone())]),
        )
        .into(),
        workload::config_map(
            PROVIDERS_CONFIG_MAP,
            ns,
            &labels,
            BTreeMap::from([("providers.yaml".to_string(), providers.clone())]),
        )
        .into(),
        deployment.into(),
        workload::service(NAME, ns, &labels, &[("http", HTTP_PORT)]).into(),
        alerting_service(ns, &labels).into(),
        autoscaler(ns, &labels, g).into(),
        PodDisruptionBudget {
            metadata: meta::object(NAME, ns, &labels),
            spec: Some(PodDisruptionBudgetSpec {
                max_unavailable: Some(IntOrString::Int(1)),
                selector: Some(meta::match_labels(&labels)),
                ..PodDisruptionBudgetSpec::default()
            }),
            ..PodDisruptionBudget::default()
        }
        .into(),
        policy(cx, g, &labels, tenancy).into(),
    ];
    if g.thanos.is_some() && tenancy == Tenancy::Namespaced {
        let mut ca = workload::config_map(SERVICE_CA_CONFIG_MAP, ns, &labels, BTreeMap::new());
        ca.data = None;
        ca.metadata.annotations =
            Some(BTreeMap::from([("service.beta.openshift.io/inject-cabundle".to_string(), "true".to_string())]));
        own.push(ca.into());
    }
    own.push(match tenancy {
        Tenancy::Namespaced => route(ns, &labels, &g.hostname).into(),
        Tenancy::Cluster => ingress(ns, &labels, &g.hostname).into(),
    });
    for dashboard in dashboards::generated(cx.platform, g).iter().chain(files) {
        own.push(dashboard_config_map(name, ns, dashboard));
    }

    let mut objects: Vec<(String, Object)> = own.into_iter().map(|o| (g.target.clone(), o)).collect();
    for watched_ns in &watched {
        let target = target_of_namespace(cx.platform, g, watched_ns).to_string();
        let (role, binding) = dashboard_reader(g, name, watched_ns);
        objects.push((target.clone(), role.into()));
        objects.push((target, binding.into()));
    }
    let config_files = BTreeMap::from([(format!("{ns}/config/datasources.yaml"), datasources)]);
    Rendered { objects, config_files }
}

/// The replicas find each other for alerting through this headless Service.
fn alerting_service(ns: &str, labels: &Labels) -> Service {
    let port = |name: &str, protocol: &str| ServicePort {
        name: Some(name.to_string()),
        port: i32::from(ALERTING_PORT),
        target_port: Some(IntOrString::String(name.to_string())),
        protocol: Some(protocol.to_string()),
        ..ServicePort::default()
    };
    Service {
        metadata: meta::object(ALERTING_SERVICE, ns, labels),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_string()),
            publish_not_ready_addresses: Some(true),
            selector: Some(labels.clone()),
            ports: Some(vec![port("alert-tcp", "TCP"), port("alert-udp", "UDP")]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

fn autoscaler(ns: &str, labels: &Labels, g: &Grafana) -> HorizontalPodAutoscaler {
    HorizontalPodAutoscaler {
        metadata: meta::object(NAME, ns, labels),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".to_string()),
                kind: "Deployment".to_string(),
                name: NAME.to_string(),
            },
            min_replicas: Some(g.replicas.min as i32),
            max_replicas: g.replicas.max as i32,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".to_string(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".to_string(),
                    target: MetricTarget {
                        type_: "Utilization".to_string(),
                        average_utilization: Some(g.replicas.cpu_target_percent as i32),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            behavior: None,
        }),
        ..HorizontalPodAutoscaler::default()
    }
}

fn route(ns: &str, labels: &Labels, host: &str) -> Route {
    Route {
        metadata: meta::object(NAME, ns, labels),
        spec: RouteSpec {
            host: Some(host.to_string()),
            to: RouteTarget { kind: "Service".to_string(), name: NAME.to_string(), weight: 100 },
            port: RoutePort { target_port: "http".to_string() },
            tls: RouteTls { termination: "edge".to_string(), insecure_edge_termination_policy: "Redirect".to_string() },
        },
    }
}

fn ingress(ns: &str, labels: &Labels, host: &str) -> Ingress {
    Ingress {
        metadata: meta::object(NAME, ns, labels),
        spec: Some(IngressSpec {
            ingress_class_name: Some("nginx".to_string()),
            rules: Some(vec![IngressRule {
                host: Some(host.to_string()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".to_string()),
                        path_type: "Prefix".to_string(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: NAME.to_string(),
                                port: Some(ServiceBackendPort { name: Some("http".to_string()), number: None }),
                            }),
                            ..IngressBackend::default()
                        },
                    }],
                }),
            }]),
            ..IngressSpec::default()
        }),
        ..Ingress::default()
    }
}

/// Any address on one port: PostgreSQL, Redis and Keycloak run outside the platform (often
/// outside the cluster), where no namespace or pod selector reaches.
fn anywhere(port: u16) -> NetworkPolicyEgressRule {
    network::allow_out(
        vec![NetworkPolicyPeer {
            ip_block: Some(IPBlock { cidr: "0.0.0.0/0".to_string(), except: None }),
            ..Default::default()
        }],
        vec![network::tcp(port)],
    )
}

/// In: users through the router on 3000, the other replicas on the alerting port. Out: DNS, the
/// API server (the sidecar), every backend's query port, the Thanos querier, the database, the
/// cache and Keycloak.
fn policy(cx: &Context, g: &Grafana, labels: &Labels, tenancy: Tenancy) -> NetworkPolicy {
    let router = match tenancy {
        Tenancy::Namespaced => NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(OPENSHIFT_INGRESS_LABEL.to_string(), String::new())])),
                ..LabelSelector::default()
            }),
            ..Default::default()
        },
        Tenancy::Cluster => network::in_namespace(INGRESS_NGINX_NAMESPACE, None),
    };
    let peers = vec![network::same_namespace(Some(labels))];
    let gossip = vec![network::tcp(ALERTING_PORT), network::udp(ALERTING_PORT)];
    let ingress = vec![
        network::allow_in(vec![router], vec![network::tcp(HTTP_PORT)]),
        network::allow_in(peers.clone(), gossip.clone()),
    ];
    let mut egress = Vec::new();
    if let Some(target) = cx.platform.targets.get(&g.target) {
        egress.push(network::dns(target));
        egress.push(network::api_server(target));
    }
    egress.push(network::allow_out(peers, gossip));
    for (env_name, env) in environments(cx.platform, g) {
        let mon = env.monitoring_namespace.as_str();
        egress.push(network::allow_out(
            vec![network::in_namespace(mon, Some(&loki::query_pods(env_name, &env.loki)))],
            vec![network::tcp(loki::HTTP_PORT)],
        ));
        if env.tempo.is_some() {
            egress.push(network::allow_out(
                vec![network::in_namespace(mon, Some(&tempo::pods(env_name)))],
                vec![network::tcp(tempo::HTTP_PORT)],
            ));
        }
        if env.mimir.is_some() {
            egress.push(network::allow_out(
                vec![network::in_namespace(mon, Some(&mimir::pods(env_name)))],
                vec![network::tcp(mimir::HTTP_PORT)],
            ));
        }
        if env.pyroscope.is_some() {
            egress.push(network::allow_out(
                vec![network::in_namespace(mon, Some(&pyroscope::pods(env_name)))],
                vec![network::tcp(pyroscope::HTTP_PORT)],
            ));
        }
    }
    if let Some(thanos) = &g.thanos {
        egress.push(network::allow_out(
            vec![network::in_namespace(&thanos.namespace, None)],
            vec![network::tcp(url_port(&thanos.url, 9092))],
        ));
    }
    let external: BTreeSet<u16> =
        [g.database.port, url_port(&g.redis.address, 6379), url_port(&g.keycloak.realm_url, 443)].into_iter().collect();
    egress.extend(external.into_iter().map(anywhere));
    network::policy(NAME, &g.namespace, labels, ingress, egress)
}

/// The pods of every Grafana that queries this environment, as NetworkPolicy peers.
pub fn clients_of(platform: &Platform, environment: &str) -> Vec<NetworkPolicyPeer> {
    platform
        .grafana
        .iter()
        .filter(|(_, g)| g.environments.iter().any(|e| e == environment))
        .map(|(name, g)| network::in_namespace(&g.namespace, Some(&pods(name))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{GrafanaRole, RoleMapping};

    fn keycloak(mapping: &[(&str, GrafanaRole)], default: Option<GrafanaRole>) -> Keycloak {
        Keycloak {
            realm_url: "https://sso.example.org/realms/platform".to_string(),
            client_id: "grafana".to_string(),
            client_secret_secret: "grafana-oauth".to_string(),
            scopes: vec!["openid".to_string()],
            role_mapping: mapping
                .iter()
                .map(|(k, g)| RoleMapping { keycloak_role: k.to_string(), grafana_role: *g })
                .collect(),
            default_role: default,
            strict: false,
        }
    }

    #[test]
    fn the_role_mapping_compiles_to_jmespath_in_priority_order() {
        let k = keycloak(
            &[("platform-admin", GrafanaRole::Admin), ("developer", GrafanaRole::Editor)],
            Some(GrafanaRole::Viewer),
        );
        assert_eq!(
            role_attribute_path(&k),
            "contains(realm_access.roles[*], 'platform-admin') && 'Admin' || \
             contains(realm_access.roles[*], 'developer') && 'Editor' || 'Viewer'"
        );
        assert_eq!(role_attribute_path(&keycloak(&[], Some(GrafanaRole::Viewer))), "'Viewer'");
        assert_eq!(
            role_attribute_path(&keycloak(&[("ops", GrafanaRole::Editor)], None)),
            "contains(realm_access.roles[*], 'ops') && 'Editor'"
        );
        assert_eq!(role_attribute_path(&keycloak(&[], None)), "");
    }

    #[test]
    fn dollars_are_escaped_except_environment_references() {
        assert_eq!(escape_dollars("${__value.raw}"), "$${__value.raw}");
        assert_eq!(escape_dollars("rate(x{$__tags}[5m])"), "rate(x{$$__tags}[5m])");
        assert_eq!(escape_dollars("no dollar"), "no dollar");
        assert_eq!(env_ref("THANOS_TOKEN"), "${THANOS_TOKEN}");
        let mut v = serde_json::json!({
            "url": "${__value.raw}",
            "list": ["$x"],
            "secureJsonData": { "httpHeaderValue1": "Bearer ${THANOS_TOKEN}" },
        });
        escape_literals(&mut v);
        assert_eq!(
            v,
            serde_json::json!({
                "url": "$${__value.raw}",
                "list": ["$$x"],
                "secureJsonData": { "httpHeaderValue1": "Bearer ${THANOS_TOKEN}" },
            })
        );
    }

    #[test]
    fn uids_fit_grafanas_limit() {
        assert_eq!(backend_uid(Backend::Loki, "prod"), "loki-prod");
        assert_eq!(thanos_uid("orders-prod"), "thanos-orders-prod");
        assert_eq!(thanos_uid(&"a".repeat(63)).len(), MAX_UID);
    }

    #[test]
    fn ports_of_urls() {
        assert_eq!(url_port("https://thanos-querier.openshift-monitoring.svc:9092", 0), 9092);
        assert_eq!(url_port("https://sso.example.org/realms/x", 0), 443);
        assert_eq!(url_port("http://x/realms/y:1", 0), 80);
        assert_eq!(url_port("redis.example.org:6380", 6379), 6380);
        assert_eq!(url_port("redis.example.org", 6379), 6379);
        assert_eq!(url_port("redis:notaport", 6379), 6379);
    }
}
