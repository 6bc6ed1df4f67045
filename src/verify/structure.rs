//! The plan's structure: no object twice in a target, nothing cluster-scoped in a namespaced
//! target, every pod restricted-v2 and every claim sized, every image pinned by digest. A
//! failure here is a bug in obsc (the checker accepted the topology), reported with the object
//! it is about.

use std::collections::{BTreeMap, BTreeSet};

use super::{restricted, Placed};
use crate::diag::Diagnostic;
use crate::model::Tenancy;
use crate::plan::Object;

/// What must hold of every object, whatever the input: no object twice in its target, nothing
/// cluster-scoped in a namespaced target, every pod restricted, every claim sized and mounted
/// only where it can be (see [`restricted`]), every image pinned by digest. `checked` are the
/// objects judged; `visible` holds them and the rest of their namespaces (a second copy of an
/// object, the claims a pod mounts).
pub fn check<'a>(checked: &[Placed<'a>], visible: &[Placed<'a>]) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    // (namespace, name) of every standalone claim. A namespace lies in one target, so the
    // claims of a pod's namespace are its target's.
    let claims: BTreeSet<(&str, &str)> = visible
        .iter()
        .filter(|p| matches!(p.object, Object::PersistentVolumeClaim(_)))
        .map(|p| (p.object.namespace(), p.object.name()))
        .collect();
    let identity =
        |p: &Placed<'a>| (p.target, p.object.api_version(), p.object.kind(), p.object.namespace(), p.object.name());
    let mut copies: BTreeMap<_, usize> = BTreeMap::new();
    for p in visible {
        *copies.entry(identity(p)).or_default() += 1;
    }
    for placed in checked {
        let Placed { target, tenancy, object: o } = *placed;
        let mut say = |message: String| problems.push(Diagnostic::error(message));
        if copies.get(&identity(placed)).is_some_and(|n| *n > 1) {
            say(format!("target `{target}` would hold {} twice", o.key()));
        }
        if o.cluster_scoped() && tenancy == Tenancy::Namespaced {
            say(format!("target `{target}` is namespace-scoped but would hold cluster-scoped {}", o.key()));
        }
        let openshift = tenancy == Tenancy::Namespaced;
        for problem in o.pod_spec().map(|s| restricted::pod_violations(s, openshift)).unwrap_or_default() {
            say(format!("{} in target `{target}` is not restricted-v2: {problem}", o.key()));
        }
        for claim in o.pod_spec().map(restricted::mounted_claims).unwrap_or_default() {
            if !claims.contains(&(o.namespace(), claim)) {
                say(format!(
                    "{} in target `{target}` mounts volume claim `{claim}`, which the target does not hold",
                    o.key()
                ));
            }
        }
        if let Object::PersistentVolumeClaim(c) = o {
            for problem in restricted::claim_violations(c) {
                say(format!("{} in target `{target}`: {problem}", o.key()));
            }
        }
        if let Object::Deployment(d) = o {
            for problem in restricted::deployment_claim_violations(d) {
                say(format!("{} in target `{target}`: {problem}", o.key()));
            }
        }
        if let Object::StatefulSet(s) = o {
            for claim in s.spec.iter().flat_map(|s| s.volume_claim_templates.iter().flatten()) {
                for problem in restricted::claim_violations(claim) {
                    say(format!("{} in target `{target}`: {problem}", o.key()));
                }
            }
        }
        for image in o.images() {
            if !image.contains("@sha256:") {
                say(format!("{} in target `{target}` uses image `{image}`, which is not pinned by digest", o.key()));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn messages(objects: &[Object]) -> Vec<String> {
        let placed: Vec<Placed> =
            objects.iter().map(|object| Placed { target: "t", tenancy: Tenancy::Namespaced, object }).collect();
        let mut found: Vec<String> = check(&placed, &placed).into_iter().map(|d| d.message).collect();
        found.sort();
        found
    }

    #[test]
    fn a_pod_mounts_only_claims_the_target_holds_and_every_claim_is_sized() {
        let no_size = PersistentVolumeClaim {
            metadata: meta("data"),
            spec: Some(PersistentVolumeClaimSpec::default()),
            ..PersistentVolumeClaim::default()
        };
        assert_eq!(
            messages(&[deployment("elsewhere").into(), no_size.into()]),
            vec![
                "Deployment/app in ns in target `t` mounts volume claim `elsewhere`, which the target does not hold",
                "PersistentVolumeClaim/data in ns in target `t`: volume claim `data` has no access mode",
                "PersistentVolumeClaim/data in ns in target `t`: volume claim `data` has no size",
            ]
        );
        // The claim in place and sized: nothing to report.
        assert_eq!(messages(&[deployment("data").into(), sized_claim().into()]), Vec::<String>::new());
    }

    #[test]
    fn a_deployment_with_a_claim_runs_one_pod_at_a_time() {
        let mut rolling = deployment("data");
        rolling.spec.as_mut().unwrap().strategy = None;
        assert_eq!(
            messages(&[rolling.into(), sized_claim().into()]),
            vec!["Deployment/app in ns in target `t`: it mounts volume claim `data` but does not use the Recreate strategy"]
        );
    }

    #[test]
    fn an_object_twice_in_a_target_is_found_also_when_only_one_copy_is_checked() {
        let (a, b): (Object, Object) = (sized_claim().into(), sized_claim().into());
        let visible = [
            Placed { target: "t", tenancy: Tenancy::Namespaced, object: &a },
            Placed { target: "t", tenancy: Tenancy::Namespaced, object: &b },
        ];
        let found: Vec<String> = check(&visible[1..], &visible).into_iter().map(|d| d.message).collect();
        assert_eq!(found, vec!["target `t` would hold PersistentVolumeClaim/data in ns twice"]);
        // One copy in each of two targets is two objects.
        let apart = [visible[0], Placed { target: "u", ..visible[1] }];
        assert!(check(&apart, &apart).is_empty());
    }
}
