//! The collector of one managed namespace: Grafana Alloy as Deployment `monitoring-collector`,
//! reached by the applications as Service `alloy`, shipping to its environment's backends.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource, PodSpec,
    PodTemplateSpec, ServiceAccount, Volume, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::alloy::{self, Block, Config, Reference, Value};
use super::meta::{self, Labels};
use super::{pod, services, workload, Context, Image, Rendered};
use crate::diag::Diagnostic;
use crate::facts::addresses::{loki, mimir, pyroscope, tempo};
use crate::facts::retention;
use crate::model::{CollectorStorage, Environment, ManagedNamespace, Signals};
use crate::names::object::{COLLECTOR, COLLECTOR_SERVICE};
use crate::names::LOG_SOURCE_LABEL;

/// Where the collector's Alloy config is mounted.
const CONFIG_DIR: &str = "/etc/alloy";
const CONFIG_FILE: &str = "config.alloy";
/// Where the storage claim is mounted; Alloy's `--storage.path` is a directory below it, so a
/// file system's own entries at its root (`lost+found`) never meet Alloy's.
const STORAGE_MOUNT: &str = "/var/lib/alloy";
const STORAGE_PATH: &str = "/var/lib/alloy/data";

/// The PersistentVolumeClaim under the collector's `--storage.path`, named here only.
pub fn storage_claim() -> String {
    format!("{COLLECTOR}-storage")
}

/// The Faro payload field that holds the SDK's `app.name` (grafana/alloy v1.18.1
/// internal/component/faro/receiver/internal/payload/payload.go: `Meta.KeyVal` prefixes the app's
/// `name` with `app_`).
const FARO_APP_FIELD: &str = "app_name";

/// What a collector needs to know about its namespace.
pub struct Collector<'a> {
    pub namespace: &'a str,
    pub environment: &'a str,
    /// That environment, looked up once where a missing one is reported.
    pub env: &'a Environment,
    pub signals: Signals,
    /// Tier of pods without a `log_source` label.
    pub default_tier: &'a str,
    /// Browser origins the Faro receiver accepts.
    pub faro_origins: Vec<String>,
    /// The services that send browser telemetry: the only `app` values browser logs may carry.
    pub faro_apps: Vec<String>,
}

/// The objects of one managed namespace's collector, and its Alloy config file.
pub fn render(cx: &Context, ns: &str, namespace: &ManagedNamespace) -> Result<Rendered, Box<Diagnostic>> {
    let env = cx.environment(&namespace.environment)?;
    let c = Collector {
        namespace: ns,
        environment: &namespace.environment,
        env,
        signals: namespace.signals(env),
        default_tier: retention::namespace_tier(cx.platform, namespace),
        faro_origins: services::faro_origins(&namespace.services),
        faro_apps: services::faro_services(&namespace.services),
    };
    let ports = &cx.platform.collector.ports;
    let config = config(cx, &c).render();
    let pods = crate::facts::addresses::collector::pods();
    let resources = namespace.collector.resources.as_ref().unwrap_or(&cx.platform.collector.resources);
    let storage = namespace.collector.storage.as_ref().unwrap_or(&cx.platform.collector.storage);

    let account = ServiceAccount {
        metadata: meta::object(COLLECTOR, ns, &pods),
        automount_service_account_token: Some(true),
        ..ServiceAccount::default()
    };
    // loki.source.kubernetes discovers pods and reads their logs through the API: nothing more.
    let (role, binding) = workload::reader_role(COLLECTOR, ns, &pods, &["pods", "pods/log"], COLLECTOR, ns);
    let config_map = ConfigMap {
        metadata: meta::object(COLLECTOR, ns, &pods),
        data: Some(BTreeMap::from([(CONFIG_FILE.to_string(), config.clone())])),
        ..ConfigMap::default()
    };

    let receivers = crate::facts::addresses::collector::receivers(&c.signals, ports);
    let mut container_ports = vec![pod::port("http", ports.http, "TCP")];
    container_ports.extend(receivers.iter().map(|(name, port)| pod::port(name, *port, "TCP")));
    let mut container = pod::container("alloy", cx.image(Image::Alloy));
    container.args = Some(vec![
        "run".to_string(),
        format!("{CONFIG_DIR}/{CONFIG_FILE}"),
        // Alloy listens on 127.0.0.1 by default, where no probe reaches it.
        format!("--server.http.listen-addr=0.0.0.0:{}", ports.http),
        format!("--storage.path={STORAGE_PATH}"),
        "--stability.level=generally-available".to_string(),
    ]);
    container.ports = Some(container_ports);
    container.readiness_probe = Some(pod::http_probe("/-/ready", "http", 10));
    container.liveness_probe = Some(pod::http_probe("/-/ready", "http", 30));
    container.resources = Some(pod::resources(resources));
    container.volume_mounts = Some(vec![
        pod::mount("config", CONFIG_DIR, true),
        pod::mount("storage", STORAGE_MOUNT, false),
        pod::mount("tmp", "/tmp", false),
    ]);

    let mut annotations = BTreeMap::new();
    // A changed config changes the pod template, so the Deployment rolls.
    annotations.insert(crate::names::CONFIG_HASH_ANNOTATION.to_string(), super::sha256(&config));
    let deployment = Deployment {
        metadata: meta::object(COLLECTOR, ns, &pods),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: meta::match_labels(&pods),
            // One collector at a time: two would ship every log line twice during a rollout, and
            // Recreate ends the old pod (which writes its read positions on the way out) before
            // the new one starts, so the ReadWriteOnce storage claim is free when the new pod
            // mounts it. The invariants hold every Deployment with a claim to this.
            strategy: Some(DeploymentStrategy { type_: Some("Recreate".to_string()), ..DeploymentStrategy::default() }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(meta::labels(&pods)),
                    annotations: Some(annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(COLLECTOR.to_string()),
                    security_context: Some(pod::pod_security()),
                    containers: vec![container],
                    volumes: Some(vec![
                        pod::config_map_volume("config", COLLECTOR),
                        claim_volume("storage", &storage_claim()),
                        pod::empty_dir("tmp", "100Mi"),
                    ]),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    };

    let mut out = Rendered::default();
    out.push(account);
    out.push(role);
    out.push(binding);
    out.push(config_map);
    out.push(storage_claim_object(ns, &pods, storage));
    out.push(deployment);
    if !receivers.is_empty() {
        out.push(workload::service(COLLECTOR_SERVICE, ns, &pods, &receivers));
    }
    out.push(network_policy(cx, &c, &pods));
    out.config_file(ns, "collector.alloy", &config);
    Ok(out)
}

/// The claim that keeps Alloy's storage path across pod replacements.
///
/// `loki.source.kubernetes` keeps its read position per container in
/// `<storage.path>/loki.source.kubernetes.<label>/positions.yml` (grafana/alloy v1.18.1
/// internal/component/loki/source/kubernetes/kubernetes.go `New`, with the component's data path
/// from internal/runtime/internal/controller/node_builtin_component.go). Without the file a new
/// pod asks the API for each container's whole current log (kubetail/tailer.go: no `sinceTime`)
/// and ships it again; on an emptyDir every rollout lost it.
///
/// A standalone claim beside the Deployment rather than a StatefulSet: the object names stay
/// (Deployment `monitoring-collector`, as documented), the Deployment's Recreate strategy already
/// runs one pod at a time, and a larger size applies to the claim in place (where its
/// StorageClass allows expansion), where a StatefulSet's `volumeClaimTemplates` can never change
/// after creation (kubernetes/kubernetes pkg/apis/apps/validation/validation.go,
/// `ValidateStatefulSetUpdate`).
fn storage_claim_object(ns: &str, pods: &Labels, storage: &CollectorStorage) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: meta::object(&storage_claim(), ns, pods),
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_string()]),
            storage_class_name: storage.class.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_string(), Quantity(storage.size.clone()))])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

fn claim_volume(name: &str, claim: &str) -> Volume {
    Volume {
        name: name.to_string(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: claim.to_string(),
            ..PersistentVolumeClaimVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// Receivers admit only pods of the collector's own namespace; the collector reaches DNS, the
/// API server and exactly the backends its signals go to. Derived from the flow table.
fn network_policy(cx: &Context, c: &Collector, pods: &Labels) -> k8s_openapi::api::networking::v1::NetworkPolicy {
    cx.policy(COLLECTOR, c.namespace, pods, true)
}

/// The Alloy pipeline: pod logs -> Loki; OTLP -> batch -> Tempo and Mimir; Faro and Pyroscope
/// receivers when on. Component reference: grafana/alloy docs/sources/reference/components/.
pub fn config(cx: &Context, c: &Collector) -> Config {
    let platform = cx.platform;
    let env = c.env;
    let monitoring = env.monitoring_namespace.as_str();
    let ports = &platform.collector.ports;
    let mut config = Config {
        header: vec![
            format!("Collector of namespace {} (environment {}).", c.namespace, c.environment),
            "Generated by obsc from the platform topology: edit the topology, not this file.".to_string(),
        ],
        components: Vec::new(),
    };

    let loki_write = Block::component("loki.write", "environment")
        .block(Block::nested("endpoint").attr("url", alloy::string(loki::push_url(monitoring))));

    if c.signals.logs {
        let discovery = Block::component("discovery.kubernetes", "pods")
            .attr("role", alloy::string("pod"))
            // Namespace-scoped: a Role in this namespace is all the collector may read.
            .block(Block::nested("namespaces").attr("own_namespace", Value::Bool(true)));
        let relabel = Block::component("discovery.relabel", "pods")
            .attr("targets", Value::Ref(discovery.export("targets")))
            .block(copy_rule("__meta_kubernetes_namespace", "namespace"))
            .block(copy_rule("__meta_kubernetes_pod_name", "pod"))
            .block(copy_rule("__meta_kubernetes_pod_container_name", "container"))
            .block(copy_rule("__meta_kubernetes_pod_label_app", "app"))
            // The recommended label wins over the legacy `app` label when both are set.
            .block(
                copy_rule("__meta_kubernetes_pod_label_app_kubernetes_io_name", "app")
                    .attr("regex", alloy::string("(.+)")),
            )
            // The tier: first the namespace's default, then the pod's `log_source` label if it
            // names a known tier. An unknown value keeps the default, so a typo cannot create a
            // stream that no retention rule covers.
            .block(
                Block::nested("rule")
                    .attr("target_label", alloy::string(LOG_SOURCE_LABEL))
                    .attr("replacement", alloy::string(c.default_tier)),
            )
            .block(
                copy_rule(&format!("__meta_kubernetes_pod_label_{LOG_SOURCE_LABEL}"), LOG_SOURCE_LABEL)
                    .attr("regex", alloy::string(tier_pattern(platform))),
            );
        // Reads each container's log through the API from where the last run stopped: the
        // positions live under `--storage.path` in a directory named after this component and
        // label (`loki.source.kubernetes.pods`), on the storage claim, and are keyed by the
        // container and its labels after the rules above. Renaming the label or changing those
        // labels re-reads the current logs once. Arguments `targets`, `forward_to`: grafana/alloy
        // v1.18.1 docs/sources/reference/components/loki/loki.source.kubernetes.md.
        let source = Block::component("loki.source.kubernetes", "pods")
            .attr("targets", Value::Ref(relabel.export("output")))
            .attr("forward_to", alloy::refs(vec![loki_write.export("receiver")]));
        config.push(discovery);
        config.push(relabel);
        config.push(source);
    }
    if c.signals.logs || c.signals.faro {
        config.push(loki_write.clone());
    }

    let otlp = c.signals.traces || c.signals.metrics;
    let batch_ref = Reference::new("otelcol.processor.batch", "apps", "input");
    if otlp {
        let mut output = Block::nested("output");
        if c.signals.traces {
            output = output.attr("traces", alloy::refs(vec![batch_ref.clone()]));
        }
        if c.signals.metrics {
            output = output.attr("metrics", alloy::refs(vec![batch_ref.clone()]));
        }
        config.push(
            Block::component("otelcol.receiver.otlp", "apps")
                .block(Block::nested("grpc").attr("endpoint", alloy::string(format!("0.0.0.0:{}", ports.otlp_grpc))))
                .block(Block::nested("http").attr("endpoint", alloy::string(format!("0.0.0.0:{}", ports.otlp_http))))
                .block(output),
        );
        let mut batch_output = Block::nested("output");
        if c.signals.traces {
            batch_output = batch_output
                .attr("traces", alloy::refs(vec![Reference::new("otelcol.exporter.otlp", "tempo", "input")]));
        }
        if c.signals.metrics {
            batch_output = batch_output
                .attr("metrics", alloy::refs(vec![Reference::new("otelcol.exporter.prometheus", "mimir", "input")]));
        }
        config.push(Block::component("otelcol.processor.batch", "apps").block(batch_output));
    }
    if c.signals.traces {
        config.push(
            Block::component("otelcol.exporter.otlp", "tempo").block(
                Block::nested("client")
                    .attr("endpoint", alloy::string(tempo::otlp_endpoint(monitoring)))
                    // Plaintext inside the cluster; the NetworkPolicies decide who may talk.
                    .block(Block::nested("tls").attr("insecure", Value::Bool(true))),
            ),
        );
    }
    if c.signals.metrics {
        let remote_write = Block::component("prometheus.remote_write", "mimir").block(
            Block::nested("endpoint")
                .attr("url", alloy::string(mimir::push_url(monitoring)))
                // Exemplars carry the trace ids behind metric-to-trace links.
                .attr("send_exemplars", Value::Bool(true)),
        );
        config.push(
            Block::component("otelcol.exporter.prometheus", "mimir")
                .attr("forward_to", alloy::refs(vec![remote_write.export("receiver")])),
        );
        config.push(remote_write);
    }
    if c.signals.faro {
        // faro.receiver gives a browser log line no labels but `extra_log_labels` (grafana/alloy
        // v1.18.1 docs/sources/reference/components/faro/faro.receiver.md; the label set is built
        // in internal/component/faro/receiver/exporters.go `labelSet`). A non-empty value is a
        // fixed label; an empty one copies the payload's field of that name, and the payload
        // carries the Faro SDK's `app.name` as `app_name` (internal/payload/payload.go,
        // `Meta.KeyVal`). So: the namespace, the namespace's tier (which Loki's retention
        // matches), and the browser's app name, which loki.relabel below turns into `app`.
        let mut labels = vec![
            ("namespace".to_string(), alloy::string(c.namespace)),
            (LOG_SOURCE_LABEL.to_string(), alloy::string(c.default_tier)),
        ];
        let mut logs_to = loki_write.export("receiver");
        if !c.faro_apps.is_empty() {
            labels.push((FARO_APP_FIELD.to_string(), alloy::string("")));
            // The app name comes from the browser, so anyone who reaches the public proxy picks
            // it: only the names of the namespace's Faro services become `app` (relabel regexes
            // are anchored: grafana/alloy v1.18.1 internal/component/common/relabel/relabel.go
            // `newRegexp`), anything else is dropped, so a browser cannot open new streams.
            // Rule syntax: docs/sources/reference/components/loki/loki.relabel.md.
            let relabel = Block::component("loki.relabel", "browser")
                .attr("forward_to", alloy::refs(vec![logs_to]))
                .block(copy_rule(FARO_APP_FIELD, "app").attr("regex", alloy::string(alternatives(&c.faro_apps))))
                .block(
                    Block::nested("rule")
                        .attr("action", alloy::string("labeldrop"))
                        .attr("regex", alloy::string(FARO_APP_FIELD)),
                );
            logs_to = relabel.export("receiver");
            config.push(relabel);
        }
        let mut output = Block::nested("output").attr("logs", alloy::refs(vec![logs_to]));
        if c.signals.traces {
            output = output.attr("traces", alloy::refs(vec![batch_ref.clone()]));
        }
        config.push(
            Block::component("faro.receiver", "browser")
                .attr("extra_log_labels", Value::Object(labels))
                .block(
                    Block::nested("server")
                        .attr("listen_address", alloy::string("0.0.0.0"))
                        .attr("listen_port", Value::Int(i64::from(ports.faro)))
                        .attr("cors_allowed_origins", alloy::strings(c.faro_origins.clone())),
                )
                .block(output),
        );
    }
    if c.signals.profiles {
        let write = Block::component("pyroscope.write", "environment")
            .block(Block::nested("endpoint").attr("url", alloy::string(pyroscope::url(monitoring))));
        config.push(
            Block::component("pyroscope.receive_http", "apps")
                .attr("forward_to", alloy::refs(vec![write.export("receiver")]))
                .block(
                    Block::nested("http")
                        .attr("listen_address", alloy::string("0.0.0.0"))
                        .attr("listen_port", Value::Int(i64::from(ports.pyroscope))),
                ),
        );
        config.push(write);
    }
    config
}

fn copy_rule(from: &str, to: &str) -> Block {
    Block::nested("rule").attr("source_labels", alloy::strings([from])).attr("target_label", alloy::string(to))
}

/// `(cdt|partner-team)`: the tiers a pod may name (relabel regexes are anchored).
fn tier_pattern(platform: &crate::model::Platform) -> String {
    let names: Vec<String> = platform.retention.tiers.keys().cloned().collect();
    alternatives(&names)
}

/// `(a|b)`, each name matched literally: RE2's metacharacters escaped.
fn alternatives(names: &[String]) -> String {
    let escaped: Vec<String> = names
        .iter()
        .map(|n| {
            n.chars()
                .map(|ch| if "\\.+*?()|[]{}^$".contains(ch) { format!("\\{ch}") } else { ch.to_string() })
                .collect()
        })
        .collect();
    format!("({})", escaped.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_matched_literally() {
        assert_eq!(alternatives(&["cdt".into(), "partner-team".into()]), "(cdt|partner-team)");
        assert_eq!(alternatives(&["a.b".into(), "c+d|e".into()]), "(a\\.b|c\\+d\\|e)");
    }

    #[test]
    fn the_storage_claim_is_named_after_the_collector() {
        assert_eq!(storage_claim(), "monitoring-collector-storage");
    }
}
