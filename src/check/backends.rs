//! Backends: replication factors the replicas can hold, Tempo's single replica, Mimir's
//! exemplars, and the deprecated Loki mode.

use super::{and_list, Checker};
use crate::model::LokiMode;

pub(super) fn check(c: &mut Checker) {
    let p = c.platform;
    let mut simple_scalable = Vec::new();
    for (env_name, env) in &p.environments {
        let loki = &env.loki;
        let (ingesters, field) = match loki.mode {
            LokiMode::SimpleScalable => {
                simple_scalable.push(env_name.clone());
                (loki.write.replicas, "write")
            }
            LokiMode::Monolithic => (loki.monolithic.replicas, "monolithic"),
        };
        if loki.replication_factor > ingesters {
            c.error(
                &["environments", env_name, "loki", "replication_factor"],
                format!(
                    "Loki of `{env_name}` keeps {} copies of each stream but has {ingesters} {field} replica(s)",
                    loki.replication_factor
                ),
                format!(
                    "raise `loki.{field}.replicas` to at least {} or lower `replication_factor`",
                    loki.replication_factor
                ),
            );
        }
        if let Some(tempo) = &env.tempo {
            if tempo.replicas > 1 {
                c.error(
                    &["environments", env_name, "tempo", "replicas"],
                    format!(
                        "Tempo of `{env_name}` has {} replicas; Tempo 3 has no HA mode without Kafka",
                        tempo.replicas
                    ),
                    "run 1 replica: more than one monolithic Tempo is unsupported upstream",
                );
            }
        }
        if let Some(mimir) = &env.mimir {
            if mimir.replication_factor > mimir.replicas {
                c.error(
                    &["environments", env_name, "mimir", "replication_factor"],
                    format!(
                        "Mimir of `{env_name}` replicates {} ways but has {} replica(s)",
                        mimir.replication_factor, mimir.replicas
                    ),
                    "raise `mimir.replicas` or lower `replication_factor`",
                );
            }
            if mimir.max_exemplars == 0 {
                c.error(
                    &["environments", env_name, "mimir", "max_exemplars"],
                    format!("Mimir of `{env_name}` stores no exemplars, so no metric links to its trace"),
                    "set `max_exemplars` above 0 (100000 is a good start)",
                );
            }
        }
    }
    if let Some(first) = simple_scalable.first() {
        c.warning(
            &["environments", first, "loki", "mode"],
            format!(
                "Loki runs in Simple Scalable mode in {}; upstream deprecated it and removes it in Loki 4.0",
                and_list(&simple_scalable)
            ),
            "plan the move to `mode = 'monolithic` (HA monolithic: every replica `-target=all`)",
        );
    }
}
