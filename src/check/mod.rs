//! Check: the rules that span the whole platform, each reported with the source location of
//! the value it is about. Every rule runs; all problems come back together.
//!
//! The Nickel contracts already checked each value's shape at its line. What is left here needs
//! more than one value at a time (a namespace and its environment, ports of one pod) or a name
//! Nickel cannot see (record keys).

mod backends;
mod collector;
mod grafana;
mod names;
mod promotion;
mod quota;
mod retention;
mod routing;
mod secrets;
mod services;
mod storage;

use crate::dashboards;
use crate::diag::{field_path, Diagnostic, Diagnostics};
use crate::load::SourceMap;
use crate::model::Platform;

/// Runs every rule over the platform and the dashboard files it names.
pub fn check(platform: &Platform, sources: &SourceMap, dashboards: &dashboards::Files) -> Diagnostics {
    let mut checker = Checker { platform, sources, dashboards, found: Diagnostics::default() };
    names::check(&mut checker);
    retention::check(&mut checker);
    routing::check(&mut checker);
    collector::check(&mut checker);
    storage::check(&mut checker);
    backends::check(&mut checker);
    services::check(&mut checker);
    grafana::check(&mut checker);
    secrets::check(&mut checker);
    quota::check(&mut checker);
    promotion::check(&mut checker);
    checker.found.sort();
    checker.found
}

/// What a rule sees, and where it reports.
pub(crate) struct Checker<'a> {
    pub platform: &'a Platform,
    pub sources: &'a SourceMap,
    pub dashboards: &'a dashboards::Files,
    pub found: Diagnostics,
}

impl Checker<'_> {
    /// A problem with the value at `path`.
    pub fn error(&mut self, path: &[&str], message: String, help: impl Into<String>) {
        let d = Diagnostic::error(message).at(self.sources.value(path), field_path(path)).help(help);
        self.found.push(d);
    }

    /// A problem with the name (record key) at the end of `path`.
    pub fn name_error(&mut self, path: &[&str], message: String, help: impl Into<String>) {
        let d = Diagnostic::error(message).at(self.sources.key(path), field_path(path)).help(help);
        self.found.push(d);
    }

    pub fn warning(&mut self, path: &[&str], message: String, help: impl Into<String>) {
        let d = Diagnostic::warning(message).at(self.sources.value(path), field_path(path)).help(help);
        self.found.push(d);
    }
}

/// `a, b and c` for messages.
pub(crate) fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{}`", s.as_ref())).collect();
    match quoted.len() {
        0 => "none".to_string(),
        1 => quoted[0].clone(),
        n => format!("{} and {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}
