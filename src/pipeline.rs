//! Render and verify in parts: how a platform of thousands of managed namespaces is built
//! without holding their objects at once.
//!
//! The core of the plan (storage, backends, Grafana, the namespaces obsc owns; see
//! [`render::core`]) is rendered first and held: everything else names or reaches it. The
//! managed namespaces, most of a large platform's objects, are then rendered [`PART`] at a time
//! ([`render::managed`]), each part proved against itself and the core
//! ([`verify::Verifier::part`]), handed to a [`Receiver`] (the emitter writes it into the
//! staging directories) and let go. Two workers take the core's pass and the parts in turn.
//!
//! Nothing reaches the receiver unverified. Once a pass finds a problem, nothing more does, but
//! every pass still runs, so every problem is reported at once; the receiver then drops what it
//! staged. The parts are numbered, so a receiver that keeps them can put the plan back in one
//! order whatever the threads did.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::budget;
use crate::dashboards;
use crate::diag::{Diagnostic, Diagnostics};
use crate::model::Platform;
use crate::pins::Pins;
use crate::plan::Plan;
use crate::render::{self, Context};
use crate::secrets;
use crate::verify;

/// Managed namespaces per part: small enough that two parts in flight are a few megabytes,
/// large enough that a part's pass is not dominated by looking up the core.
pub const PART: usize = 128;

/// What takes the verified plan, part by part. Called from two threads.
pub trait Receiver: Sync {
    /// The core of the plan, verified. Called once, possibly while parts arrive.
    fn core(&self, plan: &Plan) -> Result<(), Stop>;
    /// A verified part; `index` (from 0) is its place among the parts.
    fn part(&self, index: usize, plan: Plan) -> Result<(), Stop>;
}

/// A receiver that cannot go on; it keeps the reason itself.
#[derive(Debug)]
pub struct Stop;

/// Why a run produced no plan.
#[derive(Debug)]
pub enum Failure {
    /// The plan is wrong (a bug in obsc, or a missing pin): every problem found.
    Invalid(Diagnostics),
    /// The receiver stopped (a write failed).
    Stopped,
}

/// What a run leaves besides the files: the core of the plan (with every flow) and what the
/// plan takes from each namespace's quota.
#[derive(Debug)]
pub struct Ran {
    pub core: Plan,
    pub usage: BTreeMap<String, budget::Usage>,
}

/// Renders and verifies the checked platform, handing each verified part to `receiver`, `part`
/// managed namespaces at a time, and measures every part against the quotas.
pub fn run(
    platform: &Platform,
    pins: &Pins,
    dashboards: &dashboards::Files,
    receiver: &dyn Receiver,
    part: usize,
) -> Result<Ran, Failure> {
    let mut cx = Context::new(platform, pins).map_err(Failure::Invalid)?;
    let mut core = render::core(&cx, dashboards).map_err(Failure::Invalid)?;
    let known = secrets::known(platform);
    let namespaces: Vec<_> = platform.namespaces.iter().collect();
    let parts: Vec<_> = namespaces.chunks(part.max(1)).collect();
    let managed: BTreeSet<String> = platform.namespaces.keys().cloned().collect();

    let outcome = Outcome::default();
    {
        let verifier = verify::Verifier::new(&core, &cx.flows.all, &managed);
        let next = AtomicUsize::new(0);
        // Job 0 is the core's pass, job i + 1 the part i.
        let work = || loop {
            let job = next.fetch_add(1, Ordering::Relaxed);
            if job > parts.len() || outcome.stopped.load(Ordering::Relaxed) {
                return;
            }
            if job == 0 {
                outcome.measure(&core);
                outcome.settle(verifier.core(&known), || receiver.core(&core));
                continue;
            }
            match render::managed(&cx, parts[job - 1]) {
                Ok(plan) => {
                    outcome.measure(&plan);
                    outcome.settle(verifier.part(&plan, &known), || receiver.part(job - 1, plan));
                }
                Err(d) => outcome.settle(d.0, || Ok(())),
            }
        };
        let helper = std::thread::scope(|scope| {
            let helper = scope.spawn(work);
            work();
            helper.join()
        });
        if helper.is_err() {
            outcome.settle(vec![*render::bug("a render thread panicked")], || Ok(()));
        }
    }
    verify::into_result(outcome.found.into_inner().unwrap_or_else(|e| e.into_inner())).map_err(Failure::Invalid)?;
    if outcome.stopped.into_inner() {
        return Err(Failure::Stopped);
    }
    core.flows = std::mem::take(&mut cx.flows.all);
    Ok(Ran { core, usage: outcome.usage.into_inner().unwrap_or_else(|e| e.into_inner()) })
}

/// What the workers found so far.
#[derive(Default)]
struct Outcome {
    found: Mutex<Vec<Diagnostic>>,
    /// A pass found a problem: nothing more is delivered.
    failed: AtomicBool,
    /// The receiver stopped: no more work.
    stopped: AtomicBool,
    /// What the plan takes, by namespace.
    usage: Mutex<BTreeMap<String, budget::Usage>>,
}

impl Outcome {
    /// Adds what a piece of the plan takes from its namespaces' quotas.
    fn measure(&self, plan: &Plan) {
        match budget::measure(plan.targets.values().flat_map(|t| t.objects.iter())) {
            Ok(measured) => {
                let mut usage = self.usage.lock().unwrap_or_else(|e| e.into_inner());
                for (namespace, u) in measured {
                    usage.entry(namespace).or_default().absorb(u);
                }
            }
            Err(problem) => self.settle(vec![*render::bug(problem)], || Ok(())),
        }
    }

    /// Records a pass's problems, or delivers what it passed if nothing has failed yet.
    fn settle(&self, problems: Vec<Diagnostic>, deliver: impl FnOnce() -> Result<(), Stop>) {
        if !problems.is_empty() {
            self.failed.store(true, Ordering::Relaxed);
            self.found.lock().unwrap_or_else(|e| e.into_inner()).extend(problems);
        } else if !self.failed.load(Ordering::Relaxed) && deliver().is_err() {
            self.stopped.store(true, Ordering::Relaxed);
        }
    }
}

/// A receiver that keeps every part, to put the whole plan together (commands that read the
/// plan rather than write it).
#[derive(Default)]
pub struct Collect(Mutex<Vec<(usize, Plan)>>);

impl Receiver for Collect {
    fn core(&self, _plan: &Plan) -> Result<(), Stop> {
        Ok(())
    }

    fn part(&self, index: usize, plan: Plan) -> Result<(), Stop> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push((index, plan));
        Ok(())
    }
}

impl Collect {
    /// The whole plan: the core, then the parts in their order.
    pub fn into_plan(self, mut core: Plan) -> Plan {
        let mut parts = self.0.into_inner().unwrap_or_else(|e| e.into_inner());
        parts.sort_by_key(|(index, _)| *index);
        for (_, part) in parts {
            core.absorb(part);
        }
        core
    }
}

/// A receiver that only counts objects (`obsc check`).
#[derive(Default)]
pub struct Count(pub AtomicUsize);

impl Receiver for Count {
    fn core(&self, plan: &Plan) -> Result<(), Stop> {
        self.0.fetch_add(plan.object_count(), Ordering::Relaxed);
        Ok(())
    }

    fn part(&self, _index: usize, plan: Plan) -> Result<(), Stop> {
        self.0.fetch_add(plan.object_count(), Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn shipped() -> crate::Checked {
        crate::check(Path::new(crate::load::DEFAULT_PLATFORM), Path::new("nix/pins.nix")).expect("the shipped platform")
    }

    fn whole(checked: &crate::Checked, part: usize) -> Plan {
        let parts = Collect::default();
        let ran = run(&checked.loaded.platform, &checked.pins, &checked.dashboards, &parts, part)
            .unwrap_or_else(|e| panic!("part size {part}: {e:?}"));
        parts.into_plan(ran.core)
    }

    /// Every target's files, as emit would write them.
    fn files(plan: &Plan) -> Vec<(String, crate::emit::Files)> {
        plan.targets.iter().map(|(name, t)| (name.clone(), crate::emit::files(t).unwrap())).collect()
    }

    #[test]
    fn the_plan_is_the_same_whatever_the_size_of_the_parts() {
        let checked = shipped();
        let one_part = whole(&checked, usize::MAX);
        for part in [1, 2, 3, 7] {
            let parts = whole(&checked, part);
            assert_eq!(files(&parts), files(&one_part), "part size {part}");
            assert_eq!(parts.flows, one_part.flows);
        }
        // And it is the plan `render::render` gives whole, which `verify::plan` proves at once.
        let at_once =
            render::render(&checked.loaded.platform, &checked.pins, &checked.dashboards).expect("renders whole");
        assert_eq!(files(&at_once), files(&one_part));
        verify::plan(&at_once, &secrets::known(&checked.loaded.platform)).expect("verified whole");
    }

    /// Takes the core and the first `room` parts, then stops.
    struct StopsAfter {
        room: usize,
        taken: AtomicUsize,
    }

    impl Receiver for StopsAfter {
        fn core(&self, _plan: &Plan) -> Result<(), Stop> {
            Ok(())
        }

        fn part(&self, _index: usize, _plan: Plan) -> Result<(), Stop> {
            if self.taken.fetch_add(1, Ordering::SeqCst) >= self.room {
                return Err(Stop);
            }
            Ok(())
        }
    }

    #[test]
    fn a_receiver_that_stops_stops_the_run() {
        let checked = shipped();
        let receiver = StopsAfter { room: 2, taken: AtomicUsize::new(0) };
        let p = &checked.loaded.platform;
        let result = run(p, &checked.pins, &checked.dashboards, &receiver, 1);
        assert!(matches!(result, Err(Failure::Stopped)), "{result:?}");
        // The refused part, and at most one more the other worker had under way.
        let offered = receiver.taken.into_inner();
        assert!((3..=4).contains(&offered) && offered < p.namespaces.len(), "{offered} parts offered");
    }
}
