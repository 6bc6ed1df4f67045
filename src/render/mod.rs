//! Render: the checked platform becomes a [`Plan`] of typed Kubernetes objects per target.
//!
//! One module per component; each knows its own config and objects and nothing about YAML.
//! Renderers assume a platform the checker accepted: they look things up without re-checking.

pub mod alloy;
pub mod collector;
pub mod grafana;
pub mod loki;
pub mod meta;
pub mod mimir;
pub mod network;
pub mod pod;
pub mod pyroscope;
pub mod restricted;
pub mod seaweedfs;
pub mod services;
pub mod tempo;
pub mod workload;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use sha2::{Digest, Sha256};

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::{Platform, Target, Tenancy};
use crate::pins::Pins;
use crate::plan::{Object, Plan, TargetPlan};

/// What every renderer may consult.
pub struct Context<'a> {
    pub platform: &'a Platform,
    pub pins: &'a Pins,
}

impl Context<'_> {
    /// The pinned reference (`repo:tag@sha256:...`) of a component image. A missing pin was
    /// reported by [`render`] before any renderer ran.
    pub fn image(&self, name: &str) -> String {
        self.pins.image(name).map(|p| p.reference()).unwrap_or_default()
    }

    pub fn target_of_environment(&self, environment: &str) -> &Target {
        let env = &self.platform.environments[environment];
        &self.platform.targets[env.target(environment)]
    }
}

/// The images the renderers use, by their key in the pins file.
pub const IMAGES: &[&str] = &["alloy", "loki", "tempo", "mimir", "pyroscope", "seaweedfs", "grafana", "k8s-sidecar"];

/// Renders every target. Fails only on a missing image pin or a broken plan invariant; input
/// errors were the checker's to report.
pub fn render(platform: &Platform, pins: &Pins, dashboards: &crate::dashboards::Files) -> Result<Plan, Diagnostics> {
    let mut problems = Diagnostics::default();
    for image in IMAGES {
        if pins.image(image).is_none() {
            problems.push(
                Diagnostic::error(format!("image `{image}` is not pinned"))
                    .help(format!("add `images.{image} = {{ repository, tag, digest }}` to the pins file")),
            );
        }
    }
    if problems.has_errors() {
        return Err(problems);
    }
    let cx = Context { platform, pins };
    let mut plan = Plan::default();
    for (name, target) in &platform.targets {
        plan.targets.insert(
            name.clone(),
            TargetPlan { tenancy: target.tenancy, objects: Vec::new(), config_files: BTreeMap::new() },
        );
    }
    let default_tier = platform.retention.tiers.iter().find(|(_, t)| t.default).map(|(n, _)| n.as_str()).unwrap_or("");

    for (ns_name, ns) in &platform.namespaces {
        let env = &platform.environments[&ns.environment];
        let target = env.target(&ns.environment);
        let c = collector::Collector {
            namespace: ns_name,
            environment: &ns.environment,
            signals: ns.signals(env),
            default_tier: ns.default_tier.as_deref().unwrap_or(default_tier),
            faro_origins: services::faro_origins(&ns.services),
        };
        let (objects, config) = collector::render(&cx, &c);
        let out = plan.targets.get_mut(target).expect("checked: every environment's target is declared");
        out.objects.extend(objects);
        out.config_files.insert(format!("{ns_name}/config/collector.alloy"), config);
        for (service_name, service) in &ns.services {
            out.objects.push(services::config_map(&cx, ns_name, service_name, service).into());
            out.config_files.insert(
                format!("{ns_name}/values/{service_name}.yaml"),
                services::values(ns_name, service_name, service),
            );
        }
    }

    for (name, storage) in &platform.storage {
        let out = plan.targets.get_mut(&storage.target).expect("checked: every storage target is declared");
        out.objects.extend(seaweedfs::render(&cx, name, storage));
    }
    let mut owned: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for s in platform.storage.values() {
        owned.entry(s.target.clone()).or_default().insert(s.namespace.clone());
    }
    for (env_name, env) in &platform.environments {
        let target = env.target(env_name).to_string();
        let ns = &env.monitoring_namespace;
        owned.entry(target.clone()).or_default().insert(ns.clone());
        let out = plan.targets.get_mut(&target).expect("checked: every environment's target is declared");
        let (objects, config) = loki::render(&cx, env_name, env);
        out.objects.extend(objects);
        out.config_files.insert(format!("{ns}/config/loki.yaml"), config);
        if env.tempo.is_some() {
            let (objects, config) = tempo::render(&cx, env_name, env);
            out.objects.extend(objects);
            out.config_files.insert(format!("{ns}/config/tempo.yaml"), config);
        }
        if env.mimir.is_some() {
            let (objects, config) = mimir::render(&cx, env_name, env);
            out.objects.extend(objects);
            out.config_files.insert(format!("{ns}/config/mimir.yaml"), config);
        }
        if env.pyroscope.is_some() {
            let (objects, config) = pyroscope::render(&cx, env_name, env);
            out.objects.extend(objects);
            out.config_files.insert(format!("{ns}/config/pyroscope.yaml"), config);
        }
    }
    for (name, g) in &platform.grafana {
        owned.entry(g.target.clone()).or_default().insert(g.namespace.clone());
        let files =
            g.dashboards.directory.as_ref().and_then(|d| dashboards.get(d)).map(Vec::as_slice).unwrap_or_default();
        let rendered = grafana::render(&cx, name, g, files);
        for (target, object) in rendered.objects {
            if let Some(out) = plan.targets.get_mut(&target) {
                out.objects.push(object);
            }
        }
        if let Some(out) = plan.targets.get_mut(&g.target) {
            out.config_files.extend(rendered.config_files);
        }
    }
    // The namespaces obsc owns whole start from deny-all. Managed namespaces belong to their
    // teams: there only the collector's own policy applies.
    for (target, namespaces) in owned {
        let Some(out) = plan.targets.get_mut(&target) else { continue };
        for ns in namespaces {
            out.objects.push(network::default_deny(&ns).into());
        }
    }

    for (name, out) in plan.targets.iter_mut() {
        if out.tenancy == Tenancy::Cluster {
            own_the_cluster(name, out);
        }
    }
    invariants(&plan)?;
    Ok(plan)
}

/// The collectors of an environment's managed namespaces, as NetworkPolicy peers.
pub fn collectors_of(cx: &Context, environment: &str) -> Vec<k8s_openapi::api::networking::v1::NetworkPolicyPeer> {
    cx.platform
        .namespaces
        .iter()
        .filter(|(_, ns)| ns.environment == environment)
        .map(|(name, _)| network::in_namespace(name, Some(&collector::pods())))
        .collect()
}

/// Who queries the backends' read paths of an environment: the Grafanas that serve it.
pub fn query_clients(cx: &Context, environment: &str) -> Vec<k8s_openapi::api::networking::v1::NetworkPolicyPeer> {
    grafana::clients_of(cx.platform, environment)
}

/// A backend reaching its environment's S3 gateway.
pub fn s3_egress(
    cx: &Context,
    env: &crate::model::Environment,
) -> k8s_openapi::api::networking::v1::NetworkPolicyEgressRule {
    let storage = &cx.platform.storage[&env.storage];
    network::allow_out(
        vec![network::in_namespace(&storage.namespace, Some(&seaweedfs::s3_pods(&env.storage, storage)))],
        vec![network::tcp(seaweedfs::S3_PORT)],
    )
}

/// The pods of every backend of an environment (the S3 gateway's clients).
pub fn backend_pods(environment: &str, env: &crate::model::Environment) -> Vec<meta::Labels> {
    let mut out = vec![meta::instance("loki", &crate::names::Backend::Loki.instance(environment))];
    if env.tempo.is_some() {
        out.push(tempo::pods(environment));
    }
    if env.mimir.is_some() {
        out.push(mimir::pods(environment));
    }
    if env.pyroscope.is_some() {
        out.push(pyroscope::pods(environment));
    }
    out
}

/// A cluster of one's own (kind): obsc creates the Namespaces, enforcing Pod Security
/// "restricted" on each, and gives pods fixed non-root IDs, because no OpenShift SCC is there to
/// assign them (an image whose user is root would otherwise be refused by runAsNonRoot).
fn own_the_cluster(target: &str, out: &mut TargetPlan) {
    let namespaces: std::collections::BTreeSet<String> =
        out.objects.iter().map(|o| o.namespace().to_string()).filter(|n| !n.is_empty()).collect();
    for ns in namespaces {
        let mut metadata = meta::object(&ns, "", &meta::selector("namespace", "tenancy", target));
        metadata.namespace = None;
        if let Some(labels) = metadata.labels.as_mut() {
            labels.insert("pod-security.kubernetes.io/enforce".to_string(), "restricted".to_string());
        }
        out.objects.push(Namespace { metadata, ..Namespace::default() }.into());
    }
    for o in &mut out.objects {
        if let Some(security) = pod_spec_mut(o).and_then(|s| s.security_context.as_mut()) {
            security.run_as_user = Some(LOCAL_UID);
            security.run_as_group = Some(LOCAL_UID);
            security.fs_group = Some(LOCAL_UID);
        }
    }
}

/// The user and group pods run as on a cluster of one's own.
const LOCAL_UID: i64 = 10001;

fn pod_spec_mut(o: &mut Object) -> Option<&mut k8s_openapi::api::core::v1::PodSpec> {
    match o {
        Object::Deployment(d) => d.spec.as_mut().and_then(|s| s.template.spec.as_mut()),
        Object::StatefulSet(s) => s.spec.as_mut().and_then(|s| s.template.spec.as_mut()),
        Object::Job(j) => j.spec.as_mut().and_then(|s| s.template.spec.as_mut()),
        _ => None,
    }
}

/// What must hold of every plan, whatever the input: no object twice, nothing cluster-scoped in
/// a namespaced target, every image pinned by digest.
fn invariants(plan: &Plan) -> Result<(), Diagnostics> {
    let mut problems = Diagnostics::default();
    for (target, out) in &plan.targets {
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
            for problem in pod_spec(o).map(|s| restricted::pod_violations(s, openshift)).unwrap_or_default() {
                problems.push(Diagnostic::error(format!(
                    "{} in target `{target}` is not restricted-v2: {problem}",
                    o.key()
                )));
            }
            if let Object::StatefulSet(s) = o {
                for claim in s.spec.iter().flat_map(|s| s.volume_claim_templates.iter().flatten()) {
                    for problem in restricted::claim_violations(claim) {
                        problems.push(Diagnostic::error(format!("{} in target `{target}`: {problem}", o.key())));
                    }
                }
            }
            for image in images(o) {
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

/// The pod spec of a workload object.
pub fn pod_spec(o: &Object) -> Option<&k8s_openapi::api::core::v1::PodSpec> {
    match o {
        Object::Deployment(d) => d.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
        Object::StatefulSet(s) => s.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
        Object::Job(j) => j.spec.as_ref().and_then(|s| s.template.spec.as_ref()),
        _ => None,
    }
}

/// Every container image an object runs.
pub fn images(o: &Object) -> Vec<String> {
    pod_spec(o)
        .map(|s| {
            s.containers.iter().chain(s.init_containers.iter().flatten()).filter_map(|c| c.image.clone()).collect()
        })
        .unwrap_or_default()
}

pub fn sha256(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
