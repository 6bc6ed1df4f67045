//! Verify: the plan as a cluster would see it, proved before anything is written.
//!
//! Schema validation cannot see a volumeMount without its volume, a `$(VAR)` defined too late,
//! a Service that selects nothing, a flow a NetworkPolicy blocks at one end, or a ConfigMap the
//! API server refuses for its size. The plan is complete before emit, so each of these is
//! checked here on the objects themselves, every problem at once, each naming the object and
//! the field. The checker accepted the topology, so a failure here is a bug in obsc.
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

use crate::diag::{Diagnostic, Diagnostics};
use crate::plan::{Object, Plan};

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

/// Every invariant over the whole plan; all problems at once.
pub fn plan(plan: &Plan, secrets: &crate::secrets::Known) -> Result<(), Diagnostics> {
    let objects: Vec<&Object> = plan.targets.values().flat_map(|t| t.objects.iter()).collect();
    let templates = references::Templates::of(&objects);
    // The checks read the plan and nothing else: the flows and the sizes on a thread of their
    // own, the rest on this one (about half the time each on a large platform).
    let (structure, mut found, elsewhere) = std::thread::scope(|scope| {
        let other = scope.spawn(|| {
            let mut found = network::check(&objects, &templates, &plan.flows);
            found.extend(size::check(&objects));
            found
        });
        let structure = structure::check(plan);
        let mut found = pods::check(&objects, secrets);
        found.extend(references::check(&objects, &templates));
        (structure, found, other.join())
    });
    structure?;
    found
        .extend(elsewhere.map_err(|_| Diagnostics(vec![Diagnostic::error("bug: a plan check panicked".to_string())]))?);
    found.sort();
    found.dedup();
    if found.is_empty() {
        return Ok(());
    }
    Err(Diagnostics(
        found
            .into_iter()
            .map(|p| {
                Diagnostic::error(format!("{}: {}", p.subject, p.problem)).help(
                    "the plan would not work in a cluster; this is a bug in obsc, not in the topology: please report it",
                )
            })
            .collect(),
    ))
}
