//! Plan invariants: what must hold of every plan, whatever the input, checked on the objects
//! themselves before anything is written. A failure here is a bug in obsc (the checker accepted
//! the topology), reported with the object it is about.

use super::restricted;
use crate::diag::{Diagnostic, Diagnostics};
use crate::model::Tenancy;
use crate::plan::{Object, Plan};

/// What must hold of every plan, whatever the input: no object twice, nothing cluster-scoped in
/// a namespaced target, every image pinned by digest.
pub fn check(plan: &Plan) -> Result<(), Diagnostics> {
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
            for problem in o.pod_spec().map(|s| restricted::pod_violations(s, openshift)).unwrap_or_default() {
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
