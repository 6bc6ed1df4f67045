//! The plan's structure: no object twice in a target, nothing cluster-scoped in a namespaced
//! target, every pod restricted-v2 and every claim sized, every image pinned by digest. A
//! failure here is a bug in obsc (the checker accepted the topology), reported with the object
//! it is about.

use super::restricted;
use crate::diag::{Diagnostic, Diagnostics};
use crate::model::Tenancy;
use crate::plan::{Object, Plan};

/// What must hold of every plan, whatever the input: no object twice, nothing cluster-scoped in
/// a namespaced target, every pod restricted, every claim sized and mounted only where it can
/// be (see [`restricted`]), every image pinned by digest.
pub fn check(plan: &Plan) -> Result<(), Diagnostics> {
    let mut problems = Diagnostics::default();
    for (target, out) in &plan.targets {
        // (namespace, name) of every standalone claim the target holds.
        let claims: std::collections::BTreeSet<(&str, &str)> = out
            .objects
            .iter()
            .filter(|o| matches!(o, Object::PersistentVolumeClaim(_)))
            .map(|o| (o.namespace(), o.name()))
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for o in &out.objects {
            if !seen.insert(o.key()) {
                problems.push(Diagnostic::error(format!("target `{target}` would hold {} twice", o.key())));
            }
            if o.cluster_scoped() && out.tenancy == Tenancy::Namespaced {
                problems.push(Diagnostic::error(format!(
                    "target `{target}` is namespace-scoped but would hold cluster-scoped {}",
                    o.key()
                )));
            }
            let openshift = out.tenancy == Tenancy::Namespaced;
            for problem in o.pod_spec().map(|s| restricted::pod_violations(s, openshift)).unwrap_or_default() {
                problems.push(Diagnostic::error(format!(
                    "{} in target `{target}` is not restricted-v2: {problem}",
                    o.key()
                )));
            }
            for claim in o.pod_spec().map(restricted::mounted_claims).unwrap_or_default() {
                if !claims.contains(&(o.namespace(), claim)) {
                    problems.push(Diagnostic::error(format!(
                        "{} in target `{target}` mounts volume claim `{claim}`, which the target does not hold",
                        o.key()
                    )));
                }
            }
            if let Object::PersistentVolumeClaim(c) = o {
                for problem in restricted::claim_violations(c) {
                    problems.push(Diagnostic::error(format!("{} in target `{target}`: {problem}", o.key())));
                }
            }
            if let Object::Deployment(d) = o {
                for problem in restricted::deployment_claim_violations(d) {
                    problems.push(Diagnostic::error(format!("{} in target `{target}`: {problem}", o.key())));
                }
            }
            if let Object::StatefulSet(s) = o {
                for claim in s.spec.iter().flat_map(|s| s.volume_claim_templates.iter().flatten()) {
                    for problem in restricted::claim_violations(claim) {
                        problems.push(Diagnostic::error(format!("{} in target `{target}`: {problem}", o.key())));
                    }
                }
            }
            for image in o.images() {
                if !image.contains("@sha256:") {
                    problems.push(Diagnostic::error(format!(
                        "{} in target `{target}` uses image `{image}`, which is not pinned by digest",
                        o.key()
                    )));
                }
            }
        }
    }
    if problems.has_errors() {
        Err(problems)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::TargetPlan;
    use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
    use k8s_openapi::api::core::v1::{
        PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec,
        Volume, VolumeResourceRequirements,
    };
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn meta(name: &str) -> ObjectMeta {
        ObjectMeta { name: Some(name.into()), namespace: Some("ns".into()), ..ObjectMeta::default() }
    }

    /// A restricted pod with one memory limit that mounts claim `claim`.
    fn deployment(claim: &str) -> Deployment {
        let mut c = crate::render::pod::container("app", "img@sha256:0");
        c.resources = Some(crate::render::pod::resources(&crate::model::Resources {
            requests: crate::model::Quantities { cpu: "1".into(), memory: "1Mi".into() },
            limits: crate::model::Quantities { cpu: "1".into(), memory: "1Mi".into() },
        }));
        Deployment {
            metadata: meta("app"),
            spec: Some(DeploymentSpec {
                replicas: Some(1),
                strategy: Some(DeploymentStrategy { type_: Some("Recreate".into()), ..DeploymentStrategy::default() }),
                template: PodTemplateSpec {
                    spec: Some(PodSpec {
                        security_context: Some(crate::render::pod::pod_security()),
                        containers: vec![c],
                        volumes: Some(vec![Volume {
                            name: "data".into(),
                            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                                claim_name: claim.into(),
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
        }
    }

    fn sized_claim() -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            metadata: meta("data"),
            spec: Some(PersistentVolumeClaimSpec {
                access_modes: Some(vec!["ReadWriteOnce".into()]),
                resources: Some(VolumeResourceRequirements {
                    requests: Some([("storage".to_string(), Quantity("1Gi".into()))].into()),
                    ..VolumeResourceRequirements::default()
                }),
                ..PersistentVolumeClaimSpec::default()
            }),
            ..PersistentVolumeClaim::default()
        }
    }

    fn plan(objects: Vec<Object>) -> Plan {
        let target = TargetPlan { tenancy: Tenancy::Namespaced, objects, config_files: Default::default() };
        Plan { targets: [("t".to_string(), target)].into(), flows: Vec::new() }
    }

    fn messages(plan: &Plan) -> Vec<String> {
        check(plan).err().map(|d| d.0.iter().map(|d| d.message.clone()).collect()).unwrap_or_default()
    }

    #[test]
    fn a_pod_mounts_only_claims_the_target_holds_and_every_claim_is_sized() {
        let no_size = PersistentVolumeClaim {
            metadata: meta("data"),
            spec: Some(PersistentVolumeClaimSpec::default()),
            ..PersistentVolumeClaim::default()
        };
        assert_eq!(
            messages(&plan(vec![deployment("elsewhere").into(), no_size.into()])),
            vec![
                "Deployment/app in ns in target `t` mounts volume claim `elsewhere`, which the target does not hold",
                "PersistentVolumeClaim/data in ns in target `t`: volume claim `data` has no access mode",
                "PersistentVolumeClaim/data in ns in target `t`: volume claim `data` has no size",
            ]
        );
        // The claim in place and sized: nothing to report.
        assert_eq!(messages(&plan(vec![deployment("data").into(), sized_claim().into()])), Vec::<String>::new());
    }

    #[test]
    fn a_deployment_with_a_claim_runs_one_pod_at_a_time() {
        let mut rolling = deployment("data");
        rolling.spec.as_mut().unwrap().strategy = None;
        assert_eq!(
            messages(&plan(vec![rolling.into(), sized_claim().into()])),
            vec!["Deployment/app in ns in target `t`: it mounts volume claim `data` but does not use the Recreate strategy"]
        );
    }
}
