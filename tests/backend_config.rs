//! The backends' config files as `obsc build --all` writes them: values each component reads at
//! start-up or on every request, checked against what the topology says.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn obsc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_obsc")).current_dir(root()).args(args).output().unwrap()
}

/// One build of every target for the whole file.
fn built() -> &'static Path {
    static OUT: OnceLock<tempfile::TempDir> = OnceLock::new();
    OUT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = obsc(&["build", "--all", "-o", dir.path().to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        dir
    })
    .path()
}

/// Each environment: its target and monitoring namespace.
const MONITORING: [(&str, &str); 4] =
    [("dev", "ca7f8f-dev"), ("test", "ca7f8f-test"), ("prod", "ca7f8f-prod"), ("kind", "obsc-monitoring")];

fn path(target: &str, namespace: &str, file: &str) -> PathBuf {
    built().join(target).join(namespace).join(file)
}

fn yaml(target: &str, namespace: &str, file: &str) -> Value {
    let p = path(target, namespace, file);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_saphyr::from_str(&text).unwrap()
}

fn config(target: &str, namespace: &str, backend: &str) -> Value {
    yaml(target, namespace, &format!("config/{backend}.yaml"))
}

#[test]
fn each_backend_spells_path_style_buckets_its_own_way() {
    // Pyroscope reads only `path-style`, `virtual-hosted-style` and `auto`; Mimir only `path`,
    // `virtual-hosted` and `auto`: each refuses the other's spelling at start-up.
    let pyroscope = config("kind", "obsc-monitoring", "pyroscope");
    assert_eq!(pyroscope["storage"]["s3"]["bucket_lookup_type"], "path-style");
    for (target, ns) in MONITORING {
        assert_eq!(config(target, ns, "mimir")["common"]["storage"]["s3"]["bucket_lookup_type"], "path", "{target}");
        assert_eq!(config(target, ns, "loki")["common"]["storage"]["s3"]["s3forcepathstyle"], true, "{target}");
        assert_eq!(config(target, ns, "tempo")["storage"]["trace"]["s3"]["forcepathstyle"], true, "{target}");
    }
}

#[test]
fn tempo_labels_exemplars_with_the_name_grafana_follows() {
    let datasources = yaml("test", "ca7f8f-test", "config/datasources.yaml");
    let list = datasources["datasources"].as_array().unwrap();
    for (target, ns) in MONITORING {
        let label = &config(target, ns, "tempo")["overrides"]["defaults"]["metrics_generator"]["trace_id_label_name"];
        assert_eq!(label, "trace_id", "{target}");
        if target == "kind" {
            continue;
        }
        let mimir = list.iter().find(|d| d["uid"] == format!("mimir-{target}")).unwrap();
        let destinations = mimir["jsonData"]["exemplarTraceIdDestinations"].as_array().unwrap();
        assert_eq!(destinations.len(), 1);
        assert_eq!(&destinations[0]["name"], label, "{target}");
        assert_eq!(destinations[0]["datasourceUid"], format!("tempo-{target}"));
    }
    let kind = yaml("kind", "obsc-monitoring", "config/datasources.yaml");
    let mimir = kind["datasources"].as_array().unwrap().iter().find(|d| d["uid"] == "mimir-kind").unwrap();
    assert_eq!(mimir["jsonData"]["exemplarTraceIdDestinations"][0]["name"], "trace_id");
}

#[test]
fn mimir_s_ruler_sends_alerts_to_the_alertmanager_it_runs() {
    for (target, ns) in MONITORING {
        let mimir = config(target, ns, "mimir");
        assert_eq!(mimir["ruler"]["alertmanager_url"], "http://localhost:8080/alertmanager", "{target}");
    }
}

#[test]
fn no_backend_reports_usage_to_grafana_labs() {
    for (target, ns) in MONITORING {
        assert_eq!(config(target, ns, "loki")["analytics"]["reporting_enabled"], false, "{target}");
        assert_eq!(config(target, ns, "tempo")["usage_report"]["reporting_enabled"], false, "{target}");
        assert_eq!(config(target, ns, "mimir")["usage_stats"]["enabled"], false, "{target}");
    }
    let pyroscope = config("kind", "obsc-monitoring", "pyroscope");
    assert_eq!(pyroscope["analytics"]["reporting_enabled"], false);
}

#[test]
fn loki_limits_follow_the_topology() {
    // (target, WAL replay ceiling: 3/4 of the ingesting pods' memory limit, longest tier)
    let expected = [
        ("dev", "768MB", "2160h"),
        ("test", "768MB", "2160h"),
        ("prod", "768MB", "2160h"),
        // Monolithic on kind: 512Mi pods, tiers of 48h and 96h.
        ("kind", "384MB", "96h"),
    ];
    for ((target, ns), (_, ceiling, longest)) in MONITORING.into_iter().zip(expected) {
        let loki = config(target, ns, "loki");
        assert_eq!(loki["ingester"]["wal"]["replay_memory_ceiling"], ceiling, "{target}");
        let limits = &loki["limits_config"];
        assert_eq!(limits["max_query_lookback"], longest, "{target}");
        let hours: u64 = longest.trim_end_matches('h').parse().unwrap();
        assert_eq!(limits["max_query_length"], format!("{}h", hours + 1), "{target}");
        // The contract's defaults, in Loki's names and units; sharding would undo the per-stream cap.
        assert_eq!(limits["ingestion_rate_mb"], 8.0, "{target}");
        assert_eq!(limits["ingestion_burst_size_mb"], 12.0, "{target}");
        assert_eq!(limits["per_stream_rate_limit"], "1MB", "{target}");
        assert_eq!(limits["per_stream_rate_limit_burst"], "5MB", "{target}");
        assert_eq!(limits["max_global_streams_per_user"], 5000, "{target}");
        assert_eq!(limits["shard_streams"]["enabled"], false, "{target}");
    }
}

#[test]
fn test_replicates_three_ways_on_three_replicas_like_prod() {
    for target in ["test", "prod"] {
        let ns = format!("ca7f8f-{target}");
        assert_eq!(config(target, &ns, "loki")["common"]["replication_factor"], 3, "{target}");
        assert_eq!(yaml(target, &ns, "statefulset-loki-write.yaml")["spec"]["replicas"], 3, "{target}");
        let mimir = config(target, &ns, "mimir");
        for ring in [
            &mimir["ingester"]["ring"],
            &mimir["store_gateway"]["sharding_ring"],
            &mimir["alertmanager"]["sharding_ring"],
        ] {
            assert_eq!(ring["replication_factor"], 3, "{target}");
        }
        assert_eq!(yaml(target, &ns, "statefulset-mimir.yaml")["spec"]["replicas"], 3, "{target}");
    }
    // The shipped platform passes every check, replication included.
    let check = obsc(&["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stderr));
}
