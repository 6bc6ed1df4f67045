//! obsc compiles an observability topology written in Nickel into reproducible Kubernetes YAML,
//! one directory per target. See ARCHITECTURE.md for the map.
//!
//! The stages depend one way: [`load`] -> [`model`] -> [`check`] -> [`render`] -> [`verify`] ->
//! [`emit`]; [`pipeline`] runs render and verify a part at a time.

pub mod buckets;
pub mod budget;
pub mod check;
pub mod dashboards;
pub mod diag;
pub mod diff;
pub mod emit;
pub mod facts;
pub mod graph;
pub mod load;
pub mod model;
pub mod names;
pub mod nixdata;
pub mod period;
pub mod pins;
pub mod pipeline;
pub mod plan;
pub mod render;
pub mod secrets;
pub mod serial;
pub mod verify;

use std::path::Path;

use diag::Diagnostics;
use load::Loaded;
use plan::Plan;

/// A platform that passed every check, and its whole plan.
#[derive(Debug)]
pub struct Compiled {
    pub loaded: Loaded,
    /// The dashboard files of the Grafanas' directories.
    pub dashboards: dashboards::Files,
    pub pins: pins::Pins,
    pub plan: Plan,
    /// What the plan takes from each namespace's quota.
    pub usage: std::collections::BTreeMap<String, budget::Usage>,
    /// Things worth knowing that do not stop the build (e.g. a deprecated Loki mode).
    pub warnings: Diagnostics,
}

/// A platform that passed every check, before it is rendered.
#[derive(Debug)]
pub struct Checked {
    pub loaded: Loaded,
    pub dashboards: dashboards::Files,
    pub pins: pins::Pins,
    pub warnings: Diagnostics,
}

/// Loads and checks the platform. On failure, every problem found is returned at once (a
/// Nickel evaluation error stops evaluation, so it comes alone).
pub fn check(platform: &Path, pins_file: &Path) -> Result<Checked, Diagnostics> {
    let loaded = load::load(platform);
    let pins = pins::Pins::read(pins_file);
    let (loaded, pins) = match (loaded, pins) {
        (Ok(l), Ok(p)) => (l, p),
        (l, p) => {
            let mut all = Diagnostics::default();
            all.0.extend(l.err().map(|d| d.0).unwrap_or_default());
            all.0.extend(p.err().map(|d| d.0).unwrap_or_default());
            return Err(all);
        }
    };
    let (dashboards, mut found) = dashboards::read(platform, &loaded.platform, &loaded.sources);
    found.0.extend(check::check(&loaded.platform, &loaded.sources, &dashboards).0);
    found.sort();
    if found.has_errors() {
        return Err(found);
    }
    Ok(Checked { loaded, dashboards, pins, warnings: found })
}

/// A plan that was rendered, verified and handed on.
#[derive(Debug)]
pub struct Streamed {
    /// The core of the plan, with every flow.
    pub core: Plan,
    /// What the plan takes from each namespace's quota.
    pub usage: std::collections::BTreeMap<String, budget::Usage>,
    /// The plan against the quotas: headroom and rollout warnings (errors fail the stream).
    pub warnings: Diagnostics,
}

impl Checked {
    /// Renders and verifies the plan part by part into `receiver` (see [`pipeline`]), then
    /// judges it against the quotas: a namespace that does not fit fails it.
    pub fn stream(&self, receiver: &dyn pipeline::Receiver) -> Result<Streamed, pipeline::Failure> {
        let platform = &self.loaded.platform;
        let ran = self.run(receiver)?;
        let mut judged = budget::judge(platform, &self.loaded.sources, &ran.usage);
        judged.sort();
        if judged.has_errors() {
            return Err(pipeline::Failure::Invalid(judged));
        }
        Ok(Streamed { core: ran.core, usage: ran.usage, warnings: judged })
    }

    /// Renders and verifies the plan part by part into `receiver`, measuring it against the
    /// quotas without judging (`obsc quota` reports a namespace that does not fit).
    pub fn run(&self, receiver: &dyn pipeline::Receiver) -> Result<pipeline::Ran, pipeline::Failure> {
        pipeline::run(&self.loaded.platform, &self.pins, &self.dashboards, receiver, pipeline::PART)
    }
}

/// Loads, checks, renders and verifies the platform, and returns the whole plan. On failure,
/// every problem found is returned at once.
pub fn compile(platform: &Path, pins_file: &Path) -> Result<Compiled, Diagnostics> {
    let checked = check(platform, pins_file)?;
    let parts = pipeline::Collect::default();
    let streamed = checked.stream(&parts).map_err(|f| match f {
        pipeline::Failure::Invalid(d) => d,
        pipeline::Failure::Stopped => Diagnostics(vec![diag::Diagnostic::error("bug: collecting the plan stopped")]),
    })?;
    let Checked { loaded, dashboards, pins, mut warnings } = checked;
    warnings.0.extend(streamed.warnings.0);
    warnings.sort();
    Ok(Compiled { loaded, dashboards, pins, plan: parts.into_plan(streamed.core), usage: streamed.usage, warnings })
}
