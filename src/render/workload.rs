//! Workload shapes shared by the components: a StatefulSet with a data volume, a Deployment,
//! Services, a ConfigMap of config files. Components fill in containers; the shapes here keep
//! every pod restricted and every volume claim sized.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapKeySelector, Container, EnvVar, EnvVarSource, ObjectFieldSelector, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PodSpec, PodTemplateSpec, SecretKeySelector, Service, ServicePort, ServiceSpec, Volume,
    VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{self, Labels};
use super::pod;
use crate::model::Resources;
use crate::secrets::{SecretRef, ACCESS_KEY_ID, SECRET_ACCESS_KEY};

/// A pod template with the restricted security context and a config-hash annotation, so a
/// changed config rolls the pods.
pub fn template(
    pods: &Labels,
    containers: Vec<Container>,
    volumes: Vec<Volume>,
    config_hash: Option<String>,
) -> PodTemplateSpec {
    let annotations = config_hash.map(|h| BTreeMap::from([(crate::names::CONFIG_HASH_ANNOTATION.to_string(), h)]));
    PodTemplateSpec {
        metadata: Some(ObjectMeta { labels: Some(meta::labels(pods)), annotations, ..ObjectMeta::default() }),
        spec: Some(PodSpec {
            security_context: Some(pod::pod_security()),
            // Backends talk to the API server for nothing: no token in their pods.
            automount_service_account_token: Some(false),
            containers,
            volumes: Some(volumes),
            ..PodSpec::default()
        }),
    }
}

/// A StatefulSet whose pods each get a `data` volume claim of `size`.
pub fn stateful_set(
    name: &str,
    namespace: &str,
    pods: &Labels,
    replicas: u32,
    service: &str,
    template: PodTemplateSpec,
    size: &str,
) -> StatefulSet {
    StatefulSet {
        metadata: meta::object(name, namespace, pods),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas as i32),
            selector: meta::match_labels(pods),
            service_name: Some(service.to_string()),
            // Members of a ring or raft group start together; order buys nothing.
            pod_management_policy: Some("Parallel".to_string()),
            template,
            volume_claim_templates: Some(vec![PersistentVolumeClaim {
                metadata: ObjectMeta { name: Some("data".to_string()), ..ObjectMeta::default() },
                spec: Some(PersistentVolumeClaimSpec {
                    access_modes: Some(vec!["ReadWriteOnce".to_string()]),
                    resources: Some(VolumeResourceRequirements {
                        requests: Some(BTreeMap::from([("storage".to_string(), Quantity(size.to_string()))])),
                        ..VolumeResourceRequirements::default()
                    }),
                    ..PersistentVolumeClaimSpec::default()
                }),
                ..PersistentVolumeClaim::default()
            }]),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}

pub fn deployment(name: &str, namespace: &str, pods: &Labels, replicas: u32, template: PodTemplateSpec) -> Deployment {
    Deployment {
        metadata: meta::object(name, namespace, pods),
        spec: Some(DeploymentSpec {
            replicas: Some(replicas as i32),
            selector: meta::match_labels(pods),
            template,
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

/// A ClusterIP Service over named container ports.
pub fn service(name: &str, namespace: &str, pods: &Labels, ports: &[(&str, u16)]) -> Service {
    Service {
        metadata: meta::object(name, namespace, pods),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            selector: Some(pods.clone()),
            ports: Some(service_ports(ports)),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// A headless Service: stable pod DNS names for rings, raft groups and StatefulSets. Pods are
/// published before they are ready, because members must find each other to become ready.
pub fn headless(name: &str, namespace: &str, pods: &Labels, ports: &[(&str, u16)]) -> Service {
    Service {
        metadata: meta::object(name, namespace, pods),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_string()),
            publish_not_ready_addresses: Some(true),
            selector: Some(pods.clone()),
            ports: Some(service_ports(ports)),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

fn service_ports(ports: &[(&str, u16)]) -> Vec<ServicePort> {
    ports
        .iter()
        .map(|(name, port)| ServicePort {
            name: Some(name.to_string()),
            port: i32::from(*port),
            target_port: Some(IntOrString::String(name.to_string())),
            protocol: Some("TCP".to_string()),
            ..ServicePort::default()
        })
        .collect()
}

pub fn config_map(name: &str, namespace: &str, labels: &Labels, files: BTreeMap<String, String>) -> ConfigMap {
    ConfigMap { metadata: meta::object(name, namespace, labels), data: Some(files), ..ConfigMap::default() }
}

/// An environment variable read from a Secret key.
pub fn secret_env(var: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: var.to_string(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector { name: secret.to_string(), key: key.to_string(), optional: None }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

/// A backend's container: its config file and flags, S3 keys from its credentials Secret
/// (the config refers to them as `${S3_ACCESS_KEY_ID}` and `${S3_SECRET_ACCESS_KEY}`, expanded by
/// `-config.expand-env`), its ports, a `/ready` probe, and the given mounts.
pub fn backend_container(
    name: &str,
    image: &str,
    args: Vec<String>,
    credentials: &SecretRef,
    ports: &[(&str, u16)],
    resources: &Resources,
    mounts: Vec<VolumeMount>,
) -> Container {
    let mut c = pod::container(name, image);
    c.args = Some(args);
    c.env = Some(vec![
        secret_env("S3_ACCESS_KEY_ID", &credentials.name, ACCESS_KEY_ID),
        secret_env("S3_SECRET_ACCESS_KEY", &credentials.name, SECRET_ACCESS_KEY),
    ]);
    c.ports = Some(ports.iter().map(|(port_name, port)| pod::port(port_name, *port, "TCP")).collect());
    c.readiness_probe = Some(pod::http_probe("/ready", "http", 10));
    c.resources = Some(pod::resources(resources));
    c.volume_mounts = Some(mounts);
    c
}

/// The pod's own name, for flags that need a stable per-pod address.
pub fn pod_name_env() -> EnvVar {
    field_env("POD_NAME", "metadata.name")
}

/// An environment variable from a field of the pod (`status.podIP`, `metadata.name`).
pub fn field_env(var: &str, path: &str) -> EnvVar {
    EnvVar {
        name: var.to_string(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector { field_path: path.to_string(), api_version: None }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

/// An environment variable read from a ConfigMap key.
pub fn config_map_env(var: &str, config_map: &str, key: &str) -> EnvVar {
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

/// A Role that may only read `resources` of the core API group (get, list, watch), and its
/// binding to a ServiceAccount: all the API access obsc's pods need.
pub fn reader_role(
    name: &str,
    namespace: &str,
    labels: &Labels,
    resources: &[&str],
    account: &str,
    account_namespace: &str,
) -> (Role, RoleBinding) {
    let role = Role {
        metadata: meta::object(name, namespace, labels),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(resources.iter().map(|r| r.to_string()).collect()),
            verbs: vec!["get".to_string(), "list".to_string(), "watch".to_string()],
            ..PolicyRule::default()
        }]),
    };
    let binding = RoleBinding {
        metadata: meta::object(name, namespace, labels),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".to_string(),
            kind: "Role".to_string(),
            name: name.to_string(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_string(),
            name: account.to_string(),
            namespace: Some(account_namespace.to_string()),
            ..Subject::default()
        }]),
    };
    (role, binding)
}

pub fn env(var: &str, value: &str) -> EnvVar {
    EnvVar { name: var.to_string(), value: Some(value.to_string()), ..EnvVar::default() }
}
