//! Routing: every managed namespace ships each signal to a backend of its own environment,
//! and only to backends that exist.

use super::{and_list, Checker};
use crate::names::Signal;

pub(super) fn check(c: &mut Checker) {
    let p = c.platform;
    for (env_name, env) in &p.environments {
        if !p.storage.contains_key(&env.storage) {
            let known: Vec<&String> = p.storage.keys().collect();
            c.error(
                &["environments", env_name, "storage"],
                format!("environment `{env_name}` stores in `{}`, which is not a storage instance", env.storage),
                format!("use one of {}", and_list(&known)),
            );
        }
        // An environment that switches a signal on without its backend: report it once here
        // rather than once for every namespace that inherits the switch.
        for signal in Signal::ALL {
            if env.signals.sends(signal) && !env.has(signal.backend()) {
                c.error(
                    &["environments", env_name, "signals", signal.as_str()],
                    format!(
                        "environment `{env_name}` sends {} but has no {}",
                        signal.as_str(),
                        signal.backend().title()
                    ),
                    format!(
                        "add `{} = {{}}` to environment `{env_name}` or switch `signals.{}` off",
                        signal.backend().as_str(),
                        signal.as_str()
                    ),
                );
            }
        }
    }

    for (ns_name, ns) in &p.namespaces {
        let Some(env) = p.environments.get(&ns.environment) else {
            let known: Vec<&String> = p.environments.keys().collect();
            c.error(
                &["namespaces", ns_name, "environment"],
                format!("namespace `{ns_name}` belongs to environment `{}`, which does not exist", ns.environment),
                format!("use one of {}", and_list(&known)),
            );
            continue;
        };
        for signal in Signal::ALL {
            let overridden = ns.signals.get(signal);
            if overridden == Some(true) && !env.has(signal.backend()) {
                c.error(
                    &["namespaces", ns_name, "signals", signal.as_str()],
                    format!(
                        "namespace `{ns_name}` sends {} but environment `{}` has no {}",
                        signal.as_str(),
                        ns.environment,
                        signal.backend().title()
                    ),
                    format!(
                        "add `{} = {{}}` to environment `{}` or set `signals.{} = false`",
                        signal.backend().as_str(),
                        ns.environment,
                        signal.as_str()
                    ),
                );
            }
            if let Some(chosen) = ns.ship_to.get(signal) {
                backend_choice(c, ns_name, &ns.environment, signal, chosen);
            }
        }
    }
}

/// A namespace may name its backend; it must be the one of its own environment.
fn backend_choice(c: &mut Checker, ns_name: &str, env_name: &str, signal: Signal, chosen: &str) {
    let p = c.platform;
    let path = ["namespaces", ns_name, "ship_to", signal.as_str()];
    let backend = signal.backend();
    let own = backend.instance(env_name);
    if chosen == own {
        return;
    }
    let owner = p
        .environments
        .iter()
        .find(|(name, env)| backend.instance(name) == chosen && env.has(backend))
        .map(|(name, _)| name);
    match owner {
        Some(other) => c.error(
            &path,
            format!(
                "namespace `{ns_name}` of environment `{env_name}` ships {} to `{chosen}` of environment `{other}`",
                signal.as_str()
            ),
            format!("a namespace ships only to its own environment's backends: use `{own}` or remove the field"),
        ),
        None => {
            let known: Vec<String> = p
                .environments
                .iter()
                .filter(|(_, env)| env.has(backend))
                .map(|(name, _)| backend.instance(name))
                .collect();
            c.error(
                &path,
                format!("namespace `{ns_name}` ships {} to `{chosen}`, which does not exist", signal.as_str()),
                format!("{} instances: {}", backend.title(), and_list(&known)),
            )
        }
    }
}
