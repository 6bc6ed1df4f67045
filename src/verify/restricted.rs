//! The pod rules every rendered workload must meet: Pod Security "restricted" and OpenShift's
//! restricted-v2 SCC (openshift/cluster-kube-apiserver-operator scc-restricted-v2.yaml;
//! kubernetes.io/docs/concepts/security/pod-security-standards). The renderers build pods from
//! [`crate::render::pod`], which meets them by construction; this is the check that keeps it so.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PodSpec};

/// Every way `spec` breaks the rules, as sentences. `openshift`: the namespace-scoped tenancy,
/// where the SCC assigns IDs and a fixed one is refused.
pub fn pod_violations(spec: &PodSpec, openshift: bool) -> Vec<String> {
    let mut found = Vec::new();
    let pod = spec.security_context.as_ref();
    if pod.and_then(|p| p.run_as_non_root) != Some(true) {
        found.push("the pod does not set runAsNonRoot: true".to_string());
    }
    if let Some(p) = pod.filter(|_| openshift) {
        // OpenShift assigns UID, GID and fsGroup from the namespace's range; fixed ones are refused.
        if p.run_as_user.is_some() || p.run_as_group.is_some() || p.fs_group.is_some() {
            found.push("the pod fixes runAsUser, runAsGroup or fsGroup".to_string());
        }
    }
    let pod_seccomp = pod.and_then(|p| p.seccomp_profile.as_ref()).map(|s| s.type_.as_str());
    if spec.host_network == Some(true) || spec.host_pid == Some(true) || spec.host_ipc == Some(true) {
        found.push("the pod uses a host namespace".to_string());
    }
    for volume in spec.volumes.iter().flatten() {
        let allowed = volume.config_map.is_some()
            || volume.secret.is_some()
            || volume.empty_dir.is_some()
            || volume.persistent_volume_claim.is_some()
            || volume.projected.is_some()
            || volume.downward_api.is_some()
            || volume.csi.is_some()
            || volume.ephemeral.is_some();
        if !allowed {
            found.push(format!("volume `{}` is of a type restricted-v2 does not allow", volume.name));
        }
    }
    for c in spec.containers.iter().chain(spec.init_containers.iter().flatten()) {
        let name = &c.name;
        let sc = c.security_context.as_ref();
        if sc.and_then(|s| s.allow_privilege_escalation) != Some(false) {
            found.push(format!("container `{name}` does not set allowPrivilegeEscalation: false"));
        }
        if sc.and_then(|s| s.privileged) == Some(true) {
            found.push(format!("container `{name}` is privileged"));
        }
        let caps = sc.and_then(|s| s.capabilities.as_ref());
        if !caps.and_then(|c| c.drop.as_ref()).is_some_and(|d| d.iter().any(|c| c == "ALL")) {
            found.push(format!("container `{name}` does not drop ALL capabilities"));
        }
        if caps.and_then(|c| c.add.as_ref()).is_some_and(|a| !a.is_empty()) {
            found.push(format!("container `{name}` adds capabilities"));
        }
        if openshift && sc.is_some_and(|s| s.run_as_user.is_some() || s.run_as_group.is_some()) {
            found.push(format!("container `{name}` fixes runAsUser or runAsGroup"));
        }
        let seccomp = sc.and_then(|s| s.seccomp_profile.as_ref()).map(|s| s.type_.as_str()).or(pod_seccomp);
        if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
            found.push(format!("container `{name}` has no RuntimeDefault seccomp profile"));
        }
        for port in c.ports.iter().flatten() {
            if port.container_port < 1024 {
                found.push(format!("container `{name}` listens on port {} (below 1024)", port.container_port));
            }
            if port.host_port.is_some() {
                found.push(format!("container `{name}` uses a hostPort"));
            }
        }
        if c.resources.as_ref().and_then(|r| r.limits.as_ref()).is_none_or(|l| !l.contains_key("memory")) {
            found.push(format!("container `{name}` has no memory limit"));
        }
    }
    found
}

/// A claim needs a size and an access mode, or it never binds.
pub fn claim_violations(claim: &PersistentVolumeClaim) -> Vec<String> {
    let name = claim.metadata.name.as_deref().unwrap_or("?");
    let spec = claim.spec.as_ref();
    let mut found = Vec::new();
    if spec.and_then(|s| s.access_modes.as_ref()).is_none_or(|m| m.is_empty()) {
        found.push(format!("volume claim `{name}` has no access mode"));
    }
    if !spec
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .is_some_and(|r| r.contains_key("storage"))
    {
        found.push(format!("volume claim `{name}` has no size"));
    }
    found
}

/// The standalone claims (not a StatefulSet's templates) a pod mounts, by name.
pub fn mounted_claims(spec: &PodSpec) -> Vec<&str> {
    spec.volumes
        .iter()
        .flatten()
        .filter_map(|v| v.persistent_volume_claim.as_ref())
        .map(|c| c.claim_name.as_str())
        .collect()
}

/// A Deployment whose pods mount a standalone claim runs one pod at a time: one replica and the
/// Recreate strategy, which ends the old pod before it creates the new one. With RollingUpdate
/// the new pod starts first: on another node it waits for a ReadWriteOnce volume the old pod
/// still holds, on the same node two processes write one volume.
pub fn deployment_claim_violations(deployment: &Deployment) -> Vec<String> {
    let Some(spec) = deployment.spec.as_ref() else { return Vec::new() };
    let claims = spec.template.spec.as_ref().map(mounted_claims).unwrap_or_default();
    let Some(claim) = claims.first() else { return Vec::new() };
    let mut found = Vec::new();
    if spec.replicas.unwrap_or(1) > 1 {
        found.push(format!("it mounts volume claim `{claim}` but runs more than one replica"));
    }
    if spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) != Some("Recreate") {
        found.push(format!("it mounts volume claim `{claim}` but does not use the Recreate strategy"));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerPort, HostPathVolumeSource, PersistentVolumeClaimSpec, PodSecurityContext, Volume,
    };

    #[test]
    fn the_shared_pod_settings_pass() {
        let mut c = crate::render::pod::container("x", "img@sha256:0");
        c.resources = Some(crate::render::pod::resources(&crate::model::Resources {
            requests: crate::model::Quantities { cpu: "1".into(), memory: "1Mi".into() },
            limits: crate::model::Quantities { cpu: "1".into(), memory: "1Mi".into() },
        }));
        let spec = PodSpec {
            security_context: Some(crate::render::pod::pod_security()),
            containers: vec![c],
            volumes: Some(vec![crate::render::pod::empty_dir("tmp", "1Mi")]),
            ..PodSpec::default()
        };
        assert_eq!(pod_violations(&spec, true), Vec::<String>::new());
    }

    #[test]
    fn a_pod_that_breaks_every_rule_is_described_rule_by_rule() {
        let spec = PodSpec {
            security_context: Some(PodSecurityContext { run_as_user: Some(10001), ..PodSecurityContext::default() }),
            host_network: Some(true),
            containers: vec![Container {
                name: "app".into(),
                ports: Some(vec![ContainerPort { container_port: 80, ..ContainerPort::default() }]),
                ..Container::default()
            }],
            volumes: Some(vec![Volume {
                name: "host".into(),
                host_path: Some(HostPathVolumeSource { path: "/".into(), type_: None }),
                ..Volume::default()
            }]),
            ..PodSpec::default()
        };
        assert_eq!(
            pod_violations(&spec, true),
            vec![
                "the pod does not set runAsNonRoot: true",
                "the pod fixes runAsUser, runAsGroup or fsGroup",
                "the pod uses a host namespace",
                "volume `host` is of a type restricted-v2 does not allow",
                "container `app` does not set allowPrivilegeEscalation: false",
                "container `app` does not drop ALL capabilities",
                "container `app` has no RuntimeDefault seccomp profile",
                "container `app` listens on port 80 (below 1024)",
                "container `app` has no memory limit",
            ]
        );
    }

    #[test]
    fn a_deployment_sharing_a_claim_between_pods_is_reported() {
        use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStrategy};
        use k8s_openapi::api::core::v1::{PersistentVolumeClaimVolumeSource, PodTemplateSpec};
        let with_claim = |replicas: i32, strategy: &str| Deployment {
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                strategy: Some(DeploymentStrategy { type_: Some(strategy.into()), ..DeploymentStrategy::default() }),
                template: PodTemplateSpec {
                    spec: Some(PodSpec {
                        volumes: Some(vec![Volume {
                            name: "data".into(),
                            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                                claim_name: "store".into(),
                                ..PersistentVolumeClaimVolumeSource::default()
                            }),
                            ..Volume::default()
                        }]),
                        ..PodSpec::default()
                    }),
                    ..PodTemplateSpec::default()
                },
                ..DeploymentSpec::default()
            }),
            ..Deployment::default()
        };
        assert_eq!(deployment_claim_violations(&with_claim(1, "Recreate")), Vec::<String>::new());
        assert_eq!(
            deployment_claim_violations(&with_claim(2, "RollingUpdate")),
            vec![
                "it mounts volume claim `store` but runs more than one replica",
                "it mounts volume claim `store` but does not use the Recreate strategy",
            ]
        );
        // Without a claim, any strategy will do.
        assert_eq!(deployment_claim_violations(&Deployment::default()), Vec::<String>::new());
    }

    #[test]
    fn a_claim_without_size_or_mode_is_reported() {
        let claim = PersistentVolumeClaim {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("data".into()),
                ..Default::default()
            },
            spec: Some(PersistentVolumeClaimSpec::default()),
            ..PersistentVolumeClaim::default()
        };
        assert_eq!(
            claim_violations(&claim),
            vec!["volume claim `data` has no access mode", "volume claim `data` has no size"]
        );
    }
}
