//! Render: the checked platform becomes a [`Plan`] of typed Kubernetes objects per target.
//!
//! Components are peers: each module renders one component from its own section of the
//! topology and the shared [`Context`] (images, placement), returns its objects and config files
//! ([`Rendered`]) and knows nothing about YAML files or targets. This module calls them, files
//! every object into the target of its namespace, adds what spans components (deny-all in the
//! namespaces obsc owns, a cluster of one's own). `crate::verify` then proves the plan.
//! Renderers assume a platform the checker accepted.
//!
//! Shared pieces: [`context`] (images, hashes), [`peers`] (who talks to whom), [`dskit`] (config
//! blocks of Loki, Tempo and Mimir), [`workload`], [`pod`], [`meta`] and [`network`] (object
//! shapes).

pub mod alloy;
pub mod collector;
pub mod context;
pub mod dskit;
pub mod flows;
pub mod grafana;
pub mod loki;
pub mod meta;
pub mod mimir;
pub mod monitoring;
pub mod network;
pub mod peers;
pub mod pod;
pub mod policies;
pub mod pyroscope;
pub mod seaweedfs;
pub mod services;
pub mod tempo;
pub mod workload;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Namespace;

pub use context::{bug, sha256, Context, Image};

use crate::dashboards;
use crate::diag::{Diagnostic, Diagnostics};
use crate::model::{ManagedNamespace, Platform, Tenancy};
use crate::pins::Pins;
use crate::plan::{Object, Plan, TargetPlan};

/// What one component renders: its objects, and the config files written beside them (keyed by
/// path relative to the target directory, `<namespace>/...`).
#[derive(Debug, Default)]
pub struct Rendered {
    pub objects: Vec<Object>,
    pub config_files: BTreeMap<String, String>,
}

impl Rendered {
    pub fn push(&mut self, o: impl Into<Object>) {
        self.objects.push(o.into());
    }

    /// A config file under `<namespace>/config/`.
    pub fn config_file(&mut self, namespace: &str, file: &str, text: &str) {
        self.config_files.insert(format!("{namespace}/config/{file}"), text.to_string());
    }

    fn append(&mut self, mut other: Rendered) {
        self.objects.append(&mut other.objects);
        // Not `BTreeMap::append`: it rebuilds the whole map each time, which made adding one
        // collector's file per namespace quadratic (a third of the time at 5,000 namespaces).
        self.config_files.extend(other.config_files);
    }
}

/// Renders every target at once: [`core`] and [`managed`] for every managed namespace, in one
/// plan (for tests and tools that want it whole; a build streams the parts, see
/// `crate::pipeline`).
pub fn render(platform: &Platform, pins: &Pins, dashboards: &dashboards::Files) -> Result<Plan, Diagnostics> {
    let mut cx = Context::new(platform, pins)?;
    let mut plan = core(&cx, dashboards)?;
    let namespaces: Vec<_> = platform.namespaces.iter().collect();
    plan.absorb(managed(&cx, &namespaces)?);
    // The table moves into the plan: the policies that needed its index are rendered.
    plan.flows = std::mem::take(&mut cx.flows.all);
    Ok(plan)
}

/// The core of the plan: every component but the managed namespaces' own objects (storage,
/// backends, Grafana, deny-all in the namespaces obsc owns, a cluster of one's own's
/// Namespaces), filed by target. Its size grows with the managed namespaces only by a word per
/// namespace, and by Grafana's dashboard reader Role where Grafana reads dashboards. Fails on a
/// broken plan invariant; input errors were the checker's to report.
pub fn core(cx: &Context, dashboards: &dashboards::Files) -> Result<Plan, Diagnostics> {
    let platform = cx.platform;
    let mut all = Rendered::default();
    let mut problems = Diagnostics::default();
    let mut add = |rendered: Result<Rendered, Box<Diagnostic>>| match rendered {
        Ok(r) => all.append(r),
        Err(d) => problems.push(*d),
    };
    for (name, storage) in &platform.storage {
        add(seaweedfs::render(cx, name, storage));
    }
    for (env_name, env) in &platform.environments {
        add(loki::render(cx, env_name, env));
        if let Some(tempo) = &env.tempo {
            add(tempo::render(cx, env_name, env, tempo));
        }
        if let Some(mimir) = &env.mimir {
            add(mimir::render(cx, env_name, env, mimir));
        }
        if let Some(pyroscope) = &env.pyroscope {
            add(pyroscope::render(cx, env_name, env, pyroscope));
        }
    }
    for (name, g) in &platform.grafana {
        let files =
            g.dashboards.directory.as_ref().and_then(|d| dashboards.get(d)).map(Vec::as_slice).unwrap_or_default();
        add(grafana::render(cx, name, g, files));
    }
    // The namespaces obsc owns whole start from deny-all. Managed namespaces belong to their
    // teams: there only the collector's own policy applies.
    for (namespace, place) in &cx.placement {
        if place.role.owned() {
            all.push(network::default_deny(namespace));
        }
    }
    // What the monitoring stack scrapes outside the managed namespaces (their collectors'
    // PodMonitors come with their parts).
    for (namespace, scraped) in &cx.scraped {
        if !platform.namespaces.contains_key(namespace) {
            scraped.iter().for_each(|s| all.push(monitoring::pod_monitor(s)));
            all.push(monitoring::alerts(platform, namespace, scraped, None));
        }
    }
    if problems.has_errors() {
        return Err(problems);
    }
    let mut plan = file_by_target(cx, all)?;
    for (name, out) in plan.targets.iter_mut() {
        if out.tenancy == Tenancy::Cluster {
            // Every namespace the target holds: the core's, and the managed ones whose objects
            // come in parts.
            let mut namespaces: BTreeSet<String> =
                out.objects.iter().map(|o| o.namespace().to_string()).filter(|n| !n.is_empty()).collect();
            namespaces.extend(
                platform
                    .namespaces
                    .keys()
                    .filter(|ns| cx.placement.get(ns.as_str()).is_some_and(|p| &p.target == name))
                    .cloned(),
            );
            own_the_cluster(name, out, namespaces);
        }
    }
    Ok(plan)
}

/// The own objects of some managed namespaces (their collectors and their services' `otel-*`
/// ConfigMaps), filed by target: one part of the plan.
pub fn managed(cx: &Context, namespaces: &[(&String, &ManagedNamespace)]) -> Result<Plan, Diagnostics> {
    let mut all = Rendered::default();
    let mut problems = Diagnostics::default();
    for (ns_name, ns) in namespaces {
        for rendered in
            [collector::render(cx, ns_name, ns), services::render(ns_name, ns, &cx.platform.collector.ports)]
        {
            match rendered {
                Ok(r) => all.append(r),
                Err(d) => problems.push(*d),
            }
        }
        if let Some(scraped) = cx.scraped.get(ns_name.as_str()) {
            scraped.iter().for_each(|s| all.push(monitoring::pod_monitor(s)));
            let claim = collector::storage_claim();
            all.push(monitoring::alerts(cx.platform, ns_name, scraped, Some(&claim)));
        }
    }
    if problems.has_errors() {
        return Err(problems);
    }
    let mut plan = file_by_target(cx, all)?;
    for out in plan.targets.values_mut() {
        if out.tenancy == Tenancy::Cluster {
            run_as_local_ids(out);
        }
    }
    Ok(plan)
}

/// Every object into the target of its namespace.
fn file_by_target(cx: &Context, all: Rendered) -> Result<Plan, Diagnostics> {
    let mut plan = Plan::default();
    for (name, target) in &cx.platform.targets {
        plan.targets.insert(
            name.clone(),
            TargetPlan { tenancy: target.tenancy, objects: Vec::new(), config_files: BTreeMap::new() },
        );
    }
    let mut problems = Diagnostics::default();
    for o in all.objects {
        match cx.placement.get(o.namespace()).and_then(|p| plan.targets.get_mut(&p.target)) {
            Some(out) => out.objects.push(o),
            None => problems.push(*bug(format!("{} is in a namespace that renders into no declared target", o.key()))),
        }
    }
    for (path, text) in all.config_files {
        let namespace = path.split('/').next().unwrap_or_default();
        match cx.placement.get(namespace).and_then(|p| plan.targets.get_mut(&p.target)) {
            Some(out) => {
                out.config_files.insert(path, text);
            }
            None => problems.push(*bug(format!("config file `{path}` renders into no declared target"))),
        }
    }
    if problems.has_errors() {
        Err(problems)
    } else {
        Ok(plan)
    }
}

/// A cluster of one's own (kind): obsc creates the Namespaces, enforcing Pod Security
/// "restricted" on each, and gives pods fixed non-root IDs, because no OpenShift SCC is there to
/// assign them (an image whose user is root would otherwise be refused by runAsNonRoot).
fn own_the_cluster(target: &str, out: &mut TargetPlan, namespaces: BTreeSet<String>) {
    for ns in namespaces {
        let mut metadata = meta::object(&ns, "", &meta::selector("namespace", "tenancy", target));
        metadata.namespace = None;
        if let Some(labels) = metadata.labels.as_mut() {
            labels.insert("pod-security.kubernetes.io/enforce".to_string(), "restricted".to_string());
        }
        out.objects.push(Namespace { metadata, ..Namespace::default() }.into());
    }
    run_as_local_ids(out);
}

/// Pods on a cluster of one's own run as [`LOCAL_UID`].
fn run_as_local_ids(out: &mut TargetPlan) {
    for o in &mut out.objects {
        if let Some(security) = o.pod_spec_mut().and_then(|s| s.security_context.as_mut()) {
            security.run_as_user = Some(LOCAL_UID);
            security.run_as_group = Some(LOCAL_UID);
            security.fs_group = Some(LOCAL_UID);
        }
    }
}

/// The user and group pods run as on a cluster of one's own.
const LOCAL_UID: i64 = 10001;
