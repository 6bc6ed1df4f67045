//! Verify: the plan as a cluster would see it, proved before anything is written.
//!
//! Schema validation cannot see a volumeMount without its volume, a `$(VAR)` defined too late,
//! a Service that selects nothing, a flow a NetworkPolicy blocks at one end, or a ConfigMap the
//! API server refuses for its size. Each of these is checked here on the objects themselves,
//! before emit sees them (a large plan part by part, see [`Verifier`]), every problem at once,
//! each naming the object and the field. The checker accepted the topology, so a failure here
//! is a bug in obsc.
//!
//! - [`pods`]: volumes and mounts, environment references, ConfigMap and Secret references,
//!   probe ports.
//! - [`references`]: selectors, Services and their ports, and every object that names another.
//! - [`network`]: every flow of [`crate::plan::Plan::flows`] against the NetworkPolicies.
//! - [`size`]: objects within the API server's limits.
//! - [`structure`] (with [`restricted`]): no object twice, nothing cluster-scoped in a namespaced
//!   target, restricted-v2 pods, sized claims, images by digest.

pub mod network;
pub mod pods;
pub mod references;
pub mod restricted;
pub mod size;
pub mod structure;

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::Tenancy;
use crate::plan::{Endpoint, Flow, Object, Plan};
use crate::secrets::Known;

/// What a verification found, before it becomes a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// `Deployment/grafana in ca7f8f-test`, or a flow.
    pub subject: String,
    pub problem: String,
}

impl Problem {
    pub fn of(o: &Object, problem: impl Into<String>) -> Problem {
        Problem { subject: o.key().to_string(), problem: problem.into() }
    }
}

/// An object of the plan and the target it is filed in.
#[derive(Debug, Clone, Copy)]
pub struct Placed<'a> {
    pub target: &'a str,
    pub tenancy: Tenancy,
    pub object: &'a Object,
}

/// Every object of a plan, placed.
fn placed(plan: &Plan) -> impl Iterator<Item = Placed<'_>> {
    plan.targets
        .iter()
        .flat_map(|(target, t)| t.objects.iter().map(move |object| Placed { target, tenancy: t.tenancy, object }))
}

/// Every invariant over a whole plan at once; all problems at once.
pub fn plan(plan: &Plan, secrets: &Known) -> Result<(), Diagnostics> {
    into_result(Verifier::new(plan, &plan.flows, &BTreeSet::new()).core(secrets))
}

/// The diagnostics of one or more passes as the result of a verification: sorted, each once.
pub fn into_result(found: Vec<Diagnostic>) -> Result<(), Diagnostics> {
    let mut found = Diagnostics(found);
    found.sort();
    if found.0.is_empty() {
        Ok(())
    } else {
        Err(found)
    }
}

/// Verifies a plan that arrives in parts. The core (every object outside the managed
/// namespaces, and the objects other components put in them) is held whole; each part (the
/// managed namespaces' own objects, a few hundred namespaces at a time) is proved against it
/// and against itself, and can then be written and let go. A part's pass sees the objects of its
/// own namespaces and of the namespaces its flows reach: a managed namespace's objects only name
/// each other, and its flows reach its own pods and its environment's backends. Anything else
/// a part named would show as missing, never pass unseen; a flow between two managed
/// namespaces, which no part would see whole, is reported.
pub struct Verifier<'a> {
    /// Every object of the core.
    core: Vec<Placed<'a>>,
    /// The core's objects by namespace (in a managed one: Grafana's dashboard reader Role).
    by_namespace: BTreeMap<&'a str, Vec<Placed<'a>>>,
    /// Flows with no end in a managed namespace.
    core_flows: Vec<&'a Flow>,
    /// Flows with an end in a managed namespace, under that namespace.
    managed_flows: BTreeMap<&'a str, Vec<&'a Flow>>,
    /// Flows between two managed namespaces.
    crossing: Vec<&'a Flow>,
    /// Every namespace obsc renders into, the core's and the managed ones.
    rendered: BTreeSet<&'a str>,
}

impl<'a> Verifier<'a> {
    /// `managed`: the namespaces whose own objects come in parts.
    pub fn new(core: &'a Plan, flows: &'a [Flow], managed: &'a BTreeSet<String>) -> Verifier<'a> {
        let is_managed = |ns: &str| managed.contains(ns);
        let all: Vec<Placed> = placed(core).collect();
        let mut by_namespace: BTreeMap<&str, Vec<Placed>> = BTreeMap::new();
        for p in &all {
            by_namespace.entry(p.object.namespace()).or_default().push(*p);
        }
        let mut rendered: BTreeSet<&str> = all.iter().map(|p| p.object.namespace()).filter(|n| !n.is_empty()).collect();
        rendered.extend(managed.iter().map(String::as_str));
        let (mut core_flows, mut managed_flows, mut crossing) = (Vec::new(), BTreeMap::new(), Vec::new());
        for flow in flows {
            let ends: BTreeSet<&str> = [&flow.from, &flow.to]
                .into_iter()
                .filter_map(|e| match &**e {
                    Endpoint::Pods { namespace, .. } if is_managed(namespace) => Some(namespace.as_str()),
                    _ => None,
                })
                .collect();
            let mut ends = ends.into_iter();
            match (ends.next(), ends.next()) {
                (None, _) => core_flows.push(flow),
                (Some(ns), None) => managed_flows.entry(ns).or_insert_with(Vec::new).push(flow),
                (Some(_), Some(_)) => crossing.push(flow),
            }
        }
        Verifier { core: all, by_namespace, core_flows, managed_flows, crossing, rendered }
    }

    /// The core's own pass: its objects and the flows between its namespaces.
    pub fn core(&self, secrets: &Known) -> Vec<Diagnostic> {
        let mut found = self.pass(&self.core, &self.core, &self.core_flows, secrets);
        for flow in &self.crossing {
            found.push(bug(&Problem {
                subject: format!("flow `{}`", flow.why),
                problem: "it joins two managed namespaces, which are verified apart".to_string(),
            }));
        }
        found
    }

    /// One part's pass: its objects, against themselves and the core's objects in the
    /// namespaces they are in or their flows reach; the flows of its namespaces.
    pub fn part(&self, part: &Plan, secrets: &Known) -> Vec<Diagnostic> {
        let checked: Vec<Placed> = placed(part).collect();
        let mut seen: BTreeSet<&str> = checked.iter().map(|p| p.object.namespace()).collect();
        let mut flows = Vec::new();
        for ns in &seen {
            flows.extend(self.managed_flows.get(ns).into_iter().flatten().copied());
        }
        for flow in &flows {
            for end in [&flow.from, &flow.to] {
                if let Endpoint::Pods { namespace, .. } = &**end {
                    seen.insert(namespace);
                }
            }
        }
        let mut visible: Vec<Placed> =
            seen.iter().flat_map(|ns| self.by_namespace.get(ns)).flatten().copied().collect();
        visible.extend(&checked);
        self.pass(&checked, &visible, &flows, secrets)
    }

    fn pass(&self, checked: &[Placed], visible: &[Placed], flows: &[&Flow], secrets: &Known) -> Vec<Diagnostic> {
        let mut found = structure::check(checked, visible);
        let checked_objects: Vec<&Object> = checked.iter().map(|p| p.object).collect();
        let visible_objects: Vec<&Object> = visible.iter().map(|p| p.object).collect();
        let templates = references::Templates::of(&visible_objects);
        let mut problems = pods::check(&checked_objects, &visible_objects, secrets);
        problems.extend(references::check(&checked_objects, &visible_objects, &templates));
        problems.extend(network::check(&visible_objects, &templates, flows, &self.rendered));
        problems.extend(size::check(&checked_objects));
        found.extend(problems.iter().map(bug));
        found
    }
}

/// A problem of the plan, which the checker should have made impossible.
fn bug(p: &Problem) -> Diagnostic {
    Diagnostic::error(format!("{}: {}", p.subject, p.problem))
        .help("the plan would not work in a cluster; this is a bug in obsc, not in the topology: please report it")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Protocol, TargetPlan};
    use serde_json::json;

    fn object<T: serde::de::DeserializeOwned + Into<Object>>(v: serde_json::Value) -> Object {
        serde_json::from_value::<T>(v).unwrap().into()
    }

    fn pods(ns: &str, app: &str) -> Object {
        object::<k8s_openapi::api::apps::v1::Deployment>(json!({
            "metadata": { "name": app, "namespace": ns },
            "spec": { "selector": { "matchLabels": { "app": app } }, "template": { "metadata": { "labels": { "app": app } },
                "spec": { "containers": [{ "name": "c", "image": "i@sha256:0",
                    "ports": [{ "name": "http", "containerPort": 8080 }] }] } } }
        }))
    }

    /// The backend in `mon` admits pods of the namespaces `from` on 8080.
    fn backend_policy(from: &[&str]) -> Object {
        object::<k8s_openapi::api::networking::v1::NetworkPolicy>(json!({
            "metadata": { "name": "backend", "namespace": "mon" },
            "spec": { "podSelector": { "matchLabels": { "app": "backend" } }, "policyTypes": ["Ingress"],
                "ingress": [{ "from": [{ "namespaceSelector": { "matchExpressions": [
                    { "key": "kubernetes.io/metadata.name", "operator": "In", "values": from }] } }],
                    "ports": [{ "port": 8080 }] }] }
        }))
    }

    fn plan(objects: Vec<Object>, flows: Vec<Flow>) -> Plan {
        let t = TargetPlan { tenancy: Tenancy::Namespaced, objects, config_files: Default::default() };
        Plan { targets: [("t".to_string(), t)].into(), flows }
    }

    fn dial(from: &str, to_ns: &str, to: &str) -> Flow {
        let end = |ns: &str, app: &str| {
            std::sync::Arc::new(Endpoint::pods(ns, &[("app".to_string(), app.to_string())].into()))
        };
        Flow {
            from: end(from, "collector"),
            to: end(to_ns, to),
            port: 8080,
            protocol: Protocol::Tcp,
            why: format!("{from} ships"),
        }
    }

    /// The flows' problems (the hand-built pods are not restricted-v2, which is not the point).
    fn messages(found: Vec<Diagnostic>) -> Vec<String> {
        found.into_iter().map(|d| d.message).filter(|m| m.starts_with("flow `")).collect()
    }

    #[test]
    fn a_part_is_proved_against_the_core_it_reaches() {
        let managed: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
        let flows = vec![dial("a", "mon", "backend"), dial("b", "mon", "backend")];
        let part = plan(vec![pods("a", "collector"), pods("b", "collector")], Vec::new());
        let known = Known::new();

        let admits_both = plan(vec![pods("mon", "backend"), backend_policy(&["a", "b"])], Vec::new());
        let verifier = Verifier::new(&admits_both, &flows, &managed);
        assert_eq!(messages(verifier.core(&known)), Vec::<String>::new());
        assert_eq!(messages(verifier.part(&part, &known)), Vec::<String>::new());

        // The backend forgets `b`: the part's pass sees the flow blocked at the core's end.
        let admits_a = plan(vec![pods("mon", "backend"), backend_policy(&["a"])], Vec::new());
        let verifier = Verifier::new(&admits_a, &flows, &managed);
        assert_eq!(messages(verifier.core(&known)), Vec::<String>::new(), "the core alone has no flow of `b`");
        assert_eq!(
            messages(verifier.part(&part, &known)),
            vec![
                "flow `b ships`: Deployment/collector in b to Deployment/backend in mon on 8080/TCP: no ingress rule of NetworkPolicy/backend allows it"
            ]
        );

        // A part without `b`'s pods does not see that flow at all; with its collector missing,
        // the flow's end matches nothing.
        let only_a = plan(vec![pods("a", "collector")], Vec::new());
        assert_eq!(messages(verifier.part(&only_a, &known)), Vec::<String>::new());
        let wrong = plan(vec![pods("b", "other")], Vec::new());
        assert_eq!(
            messages(verifier.part(&wrong, &known)),
            vec!["flow `b ships`: pods {app=collector} in `b` matches no pod of the plan"]
        );
    }

    #[test]
    fn a_flow_between_two_managed_namespaces_is_reported_not_skipped() {
        let managed: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
        let flows = vec![dial("a", "b", "collector")];
        let core = plan(Vec::new(), Vec::new());
        let found = messages(Verifier::new(&core, &flows, &managed).core(&Known::new()));
        assert_eq!(found, vec!["flow `a ships`: it joins two managed namespaces, which are verified apart"]);
    }
}
