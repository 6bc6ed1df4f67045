//! obsc compiles an observability topology written in Nickel into reproducible Kubernetes YAML,
//! one directory per target. See ARCHITECTURE.md for the map.
//!
//! The stages depend one way: [`load`] -> [`model`] -> [`check`] -> [`render`] -> [`emit`].

pub mod buckets;
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
pub mod plan;
pub mod render;
pub mod secrets;
pub mod serial;
pub mod verify;

use std::path::Path;

use diag::Diagnostics;
use load::Loaded;
use plan::Plan;

/// A platform that passed every check, and its plan.
#[derive(Debug)]
pub struct Compiled {
    pub loaded: Loaded,
    /// The dashboard files of the Grafanas' directories.
    pub dashboards: dashboards::Files,
    pub pins: pins::Pins,
    pub plan: Plan,
    /// Things worth knowing that do not stop the build (e.g. a deprecated Loki mode).
    pub warnings: Diagnostics,
}

/// Loads, checks and renders the platform. On failure, every problem found is returned at once
/// (a Nickel evaluation error stops evaluation, so it comes alone).
pub fn compile(platform: &Path, pins_file: &Path) -> Result<Compiled, Diagnostics> {
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
    let plan = render::render(&loaded.platform, &pins, &dashboards)?;
    verify::plan(&plan, &secrets::known(&loaded.platform))?;
    Ok(Compiled { loaded, dashboards, pins, plan, warnings: found })
}
