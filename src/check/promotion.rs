//! Promotion order: an environment runs nothing the environment before it in `promotion.order`
//! does not (a backend, a signal the collectors ship, the browser SDK), so prod is never the
//! first place something runs; `promotion.exceptions` lets one through with its reason, and an
//! exception nothing needs is pointed out.

use std::collections::BTreeMap;

use super::{and_list, Checker};
use crate::model::Platform;
use crate::names::{Backend, Signal};

/// What an environment can turn on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Feature {
    Backend(Backend),
    Signal(Signal),
    Faro,
}

impl Feature {
    const ALL: [Feature; 7] = [
        Feature::Backend(Backend::Tempo),
        Feature::Backend(Backend::Mimir),
        Feature::Backend(Backend::Pyroscope),
        Feature::Signal(Signal::Traces),
        Feature::Signal(Signal::Metrics),
        Feature::Signal(Signal::Profiles),
        Feature::Faro,
    ];

    /// Its key in `promotion.exceptions.<env>`.
    fn key(self) -> &'static str {
        match self {
            Feature::Backend(Backend::Tempo) => "tempo",
            Feature::Backend(Backend::Mimir) => "mimir",
            Feature::Backend(Backend::Pyroscope) => "pyroscope",
            Feature::Backend(Backend::Loki) => "loki",
            Feature::Signal(Signal::Traces) => "traces",
            Feature::Signal(Signal::Metrics) => "metrics",
            Feature::Signal(Signal::Profiles) => "profiles",
            Feature::Signal(Signal::Logs) => "logs",
            Feature::Faro => "faro",
        }
    }

    fn what(self) -> String {
        match self {
            Feature::Backend(b) => b.title().to_string(),
            Feature::Signal(s) => s.as_str().to_string(),
            Feature::Faro => "Faro (the browser SDK)".to_string(),
        }
    }
}

/// Where an environment turns `feature` on: its backend's block, its signal default, or the
/// first of its namespaces that does. `None`: it does not.
fn turned_on(p: &Platform, env_name: &str, feature: Feature) -> Option<Vec<String>> {
    let env = p.environments.get(env_name)?;
    let at = |path: &[&str]| Some(path.iter().map(|s| s.to_string()).collect());
    match feature {
        Feature::Backend(b) => env.has(b).then(|| at(&["environments", env_name, feature.key()])).flatten(),
        Feature::Signal(_) | Feature::Faro => {
            let on = |s: &crate::model::Signals| match feature {
                Feature::Signal(signal) => s.sends(signal),
                _ => s.faro,
            };
            if on(&env.signals) {
                return at(&["environments", env_name, "signals", feature.key()]);
            }
            p.namespaces_of(env_name)
                .find(|(_, ns)| on(&ns.signals(env)))
                .and_then(|(name, _)| at(&["namespaces", name]))
        }
    }
}

pub(super) fn check(c: &mut Checker) {
    let p = c.platform;
    let Some(promotion) = &p.promotion else { return };
    let mut seen = BTreeMap::new();
    for (i, env) in promotion.order.iter().enumerate() {
        let index = i.to_string();
        if !p.environments.contains_key(env) {
            let known: Vec<&String> = p.environments.keys().collect();
            c.error(
                &["promotion", "order", &index],
                format!("`promotion.order` names `{env}`, which is not an environment"),
                format!("name environments of the platform: {}", and_list(&known)),
            );
        } else if let Some(first) = seen.insert(env.as_str(), i) {
            c.error(
                &["promotion", "order", &index],
                format!("`promotion.order` names `{env}` twice (also at {first})"),
                "name each environment once",
            );
        }
    }
    for env in promotion.exceptions.keys() {
        if !promotion.order.iter().skip(1).any(|e| e == env) {
            c.name_error(
                &["promotion", "exceptions", env],
                format!("`promotion.exceptions` names `{env}`, which follows no environment in `promotion.order`"),
                "exceptions are for an environment after the first in `promotion.order`",
            );
        }
    }
    for pair in promotion.order.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        if !(p.environments.contains_key(before) && p.environments.contains_key(after)) {
            continue;
        }
        let excepted = promotion.exceptions.get(after);
        for feature in Feature::ALL {
            let first_here = turned_on(p, before, feature).is_none();
            let reason = excepted.and_then(|e| e.get(feature.key()));
            match (turned_on(p, after, feature), first_here, reason) {
                (Some(path), true, None) => {
                    let path: Vec<&str> = path.iter().map(String::as_str).collect();
                    c.error(
                        &path,
                        format!(
                            "`{after}` turns on {}, which `{before}` before it in `promotion.order` does not run: `{after}` would be the first place it runs",
                            feature.what()
                        ),
                        format!(
                            "turn it on in `{before}` first, or write why it must start in `{after}`: `promotion.exceptions.{after}.{} = \"...\"`",
                            feature.key()
                        ),
                    );
                }
                (_, false, Some(_)) | (None, _, Some(_)) => {
                    c.warning(
                        &["promotion", "exceptions", after, feature.key()],
                        format!(
                            "the exception for {} in `{after}` is not needed: {}",
                            feature.what(),
                            if first_here {
                                format!("`{after}` does not run it")
                            } else {
                                format!("`{before}` runs it too")
                            }
                        ),
                        "remove it, so the exceptions list only what really starts late in the order",
                    );
                }
                _ => {}
            }
        }
    }
}
