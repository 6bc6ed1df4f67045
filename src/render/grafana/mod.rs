//! The shared Grafana: a stateless Deployment scaled by an HPA (PostgreSQL database, Redis
//! remote cache, alerting HA peers through a headless Service), exposed by a Route (OpenShift)
//! or an Ingress (kind). The parts with rules of their own have modules of their own:
//! [`datasources`] (the provisioning file and its `$` rule), [`auth`] (Keycloak and the role
//! mapping), [`dashboards`] (the sidecar, its Roles, the generated dashboards) and [`network`].
//! Keys: grafana/grafana conf/defaults.ini (v13; environment `GF_<SECTION>_<KEY>`).

pub mod auth;
pub mod dashboards;
pub mod datasources;
pub mod network;

use std::collections::BTreeMap;

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
    ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{EnvVar, Service, ServiceAccount, ServicePort, ServiceSpec};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule, IngressServiceBackend, IngressSpec,
    ServiceBackendPort,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{self, Labels};
use super::{bug, pod, workload, Context, Image, Rendered};
use crate::diag::Diagnostic;
use crate::facts::addresses::grafana::{pods, ALERTING_PORT, HTTP_PORT};
use crate::facts::datasources::ProvisioningFile;
use crate::model::{Grafana, Platform, Resources, Tenancy};
use crate::names::service_host;
use crate::plan::{Route, RoutePort, RouteSpec, RouteTarget, RouteTls};
use crate::secrets;
use dashboards::{Uid, DASHBOARDS_DIR};

/// The object name of everything in Grafana's namespace.
pub const NAME: &str = "grafana";
const ALERTING_SERVICE: &str = "grafana-alerting";
const PROVIDERS_CONFIG_MAP: &str = "grafana-dashboard-providers";
/// OpenShift's service CA operator fills this ConfigMap with the CA that signs the Thanos
/// querier's serving certificate.
const SERVICE_CA_CONFIG_MAP: &str = "grafana-service-ca";
const SERVICE_CA_KEY: &str = "service-ca.crt";
/// Environment variables the provisioning file refers to.
pub const THANOS_TOKEN_ENV: &str = "THANOS_TOKEN";
pub const THANOS_CA_ENV: &str = "THANOS_CA";

fn grafana_env(g: &Grafana, tenancy: Tenancy) -> Vec<EnvVar> {
    let e = workload::env;
    let db = &g.database;
    let peers = format!("{}:{ALERTING_PORT}", service_host(ALERTING_SERVICE, &g.namespace));
    let mut env = vec![
        workload::field_env("POD_IP", "status.podIP"),
        e("GF_SERVER_ROOT_URL", &g.root_url),
        e("GF_LOG_MODE", "console"),
        e("GF_ANALYTICS_REPORTING_ENABLED", "false"),
        e("GF_ANALYTICS_CHECK_FOR_UPDATES", "false"),
        // Shared state: PostgreSQL.
        e("GF_DATABASE_TYPE", "postgres"),
        e("GF_DATABASE_HOST", &db.endpoint.address()),
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
            env.push(e(
                "GF_REMOTE_CACHE_CONNSTR",
                &format!("addr={},password=$(REDIS_PASSWORD)", g.redis.endpoint.address()),
            ));
        }
        None => {
            env.push(e("GF_REMOTE_CACHE_TYPE", "redis"));
            env.push(e("GF_REMOTE_CACHE_CONNSTR", &format!("addr={}", g.redis.endpoint.address())));
        }
    }
    env.extend([
        // Alerting: the replicas gossip so that each alert is sent once.
        e("GF_UNIFIED_ALERTING_HA_PEERS", &peers),
        e("GF_UNIFIED_ALERTING_HA_LISTEN_ADDRESS", &format!("$(POD_IP):{ALERTING_PORT}")),
        e("GF_UNIFIED_ALERTING_HA_ADVERTISE_ADDRESS", &format!("$(POD_IP):{ALERTING_PORT}")),
    ]);
    // Keycloak single sign-on.
    env.extend(auth::environment(&g.keycloak));
    if let Some(thanos) = &g.thanos {
        env.push(workload::secret_env(THANOS_TOKEN_ENV, &thanos.token_secret, secrets::TOKEN));
        if tenancy == Tenancy::Namespaced {
            env.push(workload::config_map_env(THANOS_CA_ENV, SERVICE_CA_CONFIG_MAP, SERVICE_CA_KEY));
        }
    }
    env
}

/// Every object of a Grafana: in its namespace, and the sidecar's Roles in each watched one.
pub fn render(
    cx: &Context,
    name: &str,
    g: &Grafana,
    files: &[crate::dashboards::Dashboard],
) -> Result<Rendered, Box<Diagnostic>> {
    let ns = g.namespace.as_str();
    let labels = pods(name);
    let tenancy = cx.platform.targets[&g.target].tenancy;
    let provisioned = datasources::of_grafana(cx.platform, g, tenancy == Tenancy::Namespaced);
    let generated = dashboards::generated(cx.platform, g);
    links_resolve(cx.platform, name, &provisioned, &generated)?;
    // One ConfigMap per provisioning file, all shown in the one provisioning folder.
    let mut datasource_files = Vec::new();
    for (file, list) in provisioned {
        let text =
            yaml(name, "datasources", &datasources::DatasourceFile { api_version: 1, prune: true, datasources: list })?;
        let file_name = file.file_name();
        let config_map = format!("grafana-{}", file_name.trim_end_matches(".yaml"));
        datasource_files.push((config_map, file_name, text));
    }
    let providers = yaml(name, "dashboard providers", &dashboards::providers())?;
    let hash = super::sha256(
        &datasource_files.iter().map(|(_, _, text)| text.as_str()).chain([providers.as_str()]).collect::<String>(),
    );

    let mut grafana = pod::container("grafana", cx.image(Image::Grafana));
    grafana.env = Some(grafana_env(g, tenancy));
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

    let watched = dashboards::watched_namespaces(cx.platform, g);
    let mut sidecar = pod::container("dashboards", cx.image(Image::K8sSidecar));
    sidecar.env = Some(vec![
        workload::env("LABEL", dashboards::DASHBOARD_LABEL),
        workload::env("LABEL_VALUE", "1"),
        workload::env("FOLDER", DASHBOARDS_DIR),
        workload::env("NAMESPACE", &watched.join(",")),
        workload::env("RESOURCE", "configmap"),
        workload::env("FOLDER_ANNOTATION", dashboards::FOLDER_ANNOTATION),
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
            pod::projected_config_maps(
                "datasources",
                &datasource_files.iter().map(|(config_map, _, _)| config_map.clone()).collect::<Vec<_>>(),
            ),
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

    let mut out = Rendered::default();
    let own: Vec<crate::plan::Object> = vec![
        ServiceAccount {
            metadata: meta::object(NAME, ns, &labels),
            automount_service_account_token: Some(true),
            ..ServiceAccount::default()
        }
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
        cx.policy(NAME, ns, &labels, true).into(),
    ];
    for o in own {
        out.push(o);
    }
    for (config_map, file_name, text) in &datasource_files {
        out.push(workload::config_map(config_map, ns, &labels, BTreeMap::from([(file_name.clone(), text.clone())])));
        out.config_file(ns, file_name, text);
    }
    // Grafana admitted to what it dials in the namespaces obsc owns; elsewhere the owners add
    // the same policies (`obsc owner-policies`).
    for admission in network::admissions(name, g) {
        if cx.placement.get(&admission.namespace).is_some_and(|p| p.role.owned()) {
            out.push(admission.policy);
        }
    }
    if g.thanos.is_some() && tenancy == Tenancy::Namespaced {
        let mut ca = workload::config_map(SERVICE_CA_CONFIG_MAP, ns, &labels, BTreeMap::new());
        ca.data = None;
        ca.metadata.annotations =
            Some(BTreeMap::from([("service.beta.openshift.io/inject-cabundle".to_string(), "true".to_string())]));
        out.push(ca);
    }
    match tenancy {
        Tenancy::Namespaced => out.push(route(ns, &labels, &g.hostname)),
        Tenancy::Cluster => out.push(ingress(ns, &labels, &g.hostname)),
    }
    for board in &generated {
        let json = crate::serial::json(board).map_err(|e| bug(format!("dashboard `{}`: {e}", board.name)))?;
        out.push(dashboards::config_map(name, ns, &board.name, board.folder, &json));
    }
    for file in files {
        out.push(dashboards::config_map(name, ns, &file.name, &file.folder, &file.text));
    }
    for watched_ns in &watched {
        let (role, binding) = dashboards::reader(g, name, watched_ns);
        out.push(role);
        out.push(binding);
    }
    Ok(out)
}

fn yaml<T: serde::Serialize>(grafana: &str, what: &str, value: &T) -> Result<String, Box<Diagnostic>> {
    crate::serial::yaml(value).map_err(|e| bug(format!("{what} of Grafana `{grafana}`: {e}")))
}

/// Every link between datasources and every datasource a generated dashboard names is
/// provisioned, and every datasource variable selects a provisioned datasource of its plugin
/// for each namespace of its environment the Grafana serves. obsc derives them all from one
/// list, so a failure is a bug.
fn links_resolve(
    platform: &Platform,
    name: &str,
    provisioned: &BTreeMap<ProvisioningFile, Vec<datasources::Datasource>>,
    generated: &[dashboards::Board],
) -> Result<(), Box<Diagnostic>> {
    let all = || provisioned.values().flatten();
    let uids: BTreeMap<&str, &str> = all().map(|d| (d.uid.0.as_str(), d.kind)).collect();
    let names: BTreeMap<&str, &str> = all().map(|d| (d.name.0.as_str(), d.kind)).collect();
    for d in all() {
        for (what, uid) in d.references() {
            if !uids.contains_key(uid) {
                return Err(bug(format!(
                    "datasource `{}` of Grafana `{name}` links ({what}) to UID `{uid}`, which is not provisioned",
                    d.name.0
                )));
            }
        }
    }
    for board in generated {
        // A variable's choices are checked once, however many panels and queries use it.
        let mut swept = std::collections::BTreeSet::new();
        let refuse =
            |what: String| Err(bug(format!("generated dashboard `{}` of Grafana `{name}` {what}", board.name)));
        for r in board.datasource_refs() {
            match &r.uid {
                Uid::Provisioned(uid) => match uids.get(uid.as_str()) {
                    None => return refuse(format!("names datasource `{uid}`, which is not provisioned")),
                    Some(kind) if *kind != r.kind => {
                        return refuse(format!("names datasource `{uid}` as {}, but it is {kind}", r.kind))
                    }
                    Some(_) => {}
                },
                Uid::Variable(var) => {
                    let Some(v) = board.datasource_variable(var) else {
                        return refuse(format!("names datasource variable `${var}`, which it does not define"));
                    };
                    if !board.defines(v.by) {
                        return refuse(format!("selects `${var}` by `${}`, which it does not define", v.by));
                    }
                    if v.plugin != r.kind {
                        return refuse(format!("uses `${var}` (a {} datasource) as {}", v.plugin, r.kind));
                    }
                    if !swept.insert(*var) {
                        continue;
                    }
                    for (ns, _) in platform.namespaces_of(&board.environment) {
                        let wanted = v.selects(ns);
                        if names.get(wanted.as_str()) != Some(&v.plugin) {
                            return refuse(format!(
                                "selects `{wanted}` through `${var}` for namespace `{ns}`, but no {} datasource has that name",
                                v.plugin
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped platform's shared Grafana: its datasources by file and its generated dashboards.
    fn shipped() -> (Platform, String) {
        let loaded =
            crate::load::load(std::path::Path::new("environments/platform.ncl")).expect("the shipped platform");
        let name = loaded.platform.grafana.keys().find(|n| loaded.platform.grafana[*n].thanos.is_some()).cloned();
        (loaded.platform, name.expect("a Grafana with Thanos"))
    }

    #[test]
    fn a_datasource_variable_must_find_a_datasource_for_every_namespace() {
        let (platform, name) = shipped();
        let g = &platform.grafana[&name];
        let mut provisioned = datasources::of_grafana(&platform, g, true);
        let generated = dashboards::generated(&platform, g);
        assert!(links_resolve(&platform, &name, &provisioned, &generated).is_ok());
        // Without one namespace's Thanos datasource, the overview's `$thanos` finds nothing there.
        for list in provisioned.values_mut() {
            list.retain(|d| d.name.0 != "Thanos orders-prod");
        }
        let e = links_resolve(&platform, &name, &provisioned, &generated).unwrap_err();
        assert!(
            e.message.contains("`Thanos orders-prod` through `$thanos` for namespace `orders-prod`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_panel_must_name_a_provisioned_datasource_of_its_type() {
        let (platform, name) = shipped();
        let g = &platform.grafana[&name];
        let provisioned = datasources::of_grafana(&platform, g, true);
        let mut generated = dashboards::generated(&platform, g);
        generated[0].panels[0].datasource.kind = "loki";
        let e = links_resolve(&platform, &name, &provisioned, &generated).unwrap_err();
        assert!(e.message.contains("(a prometheus datasource) as loki"), "{}", e.message);
        let mut generated = dashboards::generated(&platform, g);
        generated[0].panels[1].datasource.uid = Uid::Provisioned("loki-nowhere".to_string());
        let e = links_resolve(&platform, &name, &provisioned, &generated).unwrap_err();
        assert!(e.message.contains("names datasource `loki-nowhere`, which is not provisioned"), "{}", e.message);
    }
}
