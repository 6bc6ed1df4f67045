//! The platform's own alerts, proved with Prometheus's promtool (Debian's `prometheus` package;
//! scripts/test installs it): every generated rule file loads (`promtool check rules`), and each
//! alert fires on its bad case and stays silent on its good one (`promtool test rules`, series
//! and expectations written here as JSON, which promtool reads as YAML).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::root;
use serde_json::{json, Value};

/// The rules of every PrometheusRule of the committed render, each as a plain rule file (the
/// object's `spec`) in `dir`, named `<namespace>.json`.
fn rule_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for (path, bytes) in obsc::emit::read_dir(&root().join("rendered")).unwrap() {
        if !path.rsplit('/').next().is_some_and(|f| f.starts_with("prometheusrule-")) {
            continue;
        }
        let object: Value = serde_saphyr::from_str(&String::from_utf8(bytes).unwrap()).unwrap();
        let namespace = object["metadata"]["namespace"].as_str().unwrap().to_string();
        let file = dir.join(format!("{namespace}.json"));
        std::fs::write(&file, serde_json::to_string_pretty(&object["spec"]).unwrap()).unwrap();
        files.push(file);
    }
    files.sort();
    files
}

fn promtool(args: &[&str], files: &[PathBuf]) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .args(files)
        .output()
        .expect("promtool must be installed (Debian's prometheus package): run scripts/test");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn every_generated_rule_file_passes_promtool_check_rules() {
    let dir = tempfile::tempdir().unwrap();
    let files = rule_files(dir.path());
    // Every namespace the licence-plate cluster's monitoring stack scrapes: 9 managed, 3
    // monitoring namespaces (test's also holds the Grafana), the tools namespace.
    assert_eq!(files.len(), 9 + 3 + 1, "{files:#?}");
    let (ok, report) = promtool(&["check", "rules"], &files);
    assert!(ok && !report.contains("FAILED"), "{report}");
    assert_eq!(report.matches("SUCCESS").count(), files.len(), "{report}");
    // And promtool refuses what is broken.
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, std::fs::read_to_string(&files[0]).unwrap().replace(" == 0", " == ")).unwrap();
    assert!(!promtool(&["check", "rules"], &[broken]).0);
}

/// The annotations an alert of the generated rules carries, expanded.
fn annotations(summary: &str, description: &str, alert: &str) -> Value {
    json!({ "summary": summary, "description": description, "runbook_url": format!("README.md#{}", alert.to_ascii_lowercase()) })
}

#[test]
fn each_alert_fires_on_its_bad_case_and_stays_silent_on_its_good_one() {
    let dir = tempfile::tempdir().unwrap();
    rule_files(dir.path());
    let collector = "orders-prod/monitoring-collector";
    let up = |job: &str, pod: &str, values: &str| {
        let namespace = job.split('/').next().unwrap();
        json!({ "series": format!("up{{job=\"{job}\",namespace=\"{namespace}\",pod=\"{pod}\"}}"), "values": values })
    };
    let volume = |namespace: &str, claim: &str, available: &str| {
        let labels = format!("namespace=\"{namespace}\",persistentvolumeclaim=\"{claim}\"");
        [
            json!({ "series": format!("kubelet_volume_stats_available_bytes{{{labels}}}"), "values": available }),
            json!({ "series": format!("kubelet_volume_stats_capacity_bytes{{{labels}}}"), "values": "100x40" }),
        ]
    };
    let down = |job: &str, pod: &str, severity: &str, name: &str, namespace: &str| {
        json!({
            "exp_labels": { "severity": severity, "component": name, "job": job, "namespace": namespace, "pod": pod },
            "exp_annotations": annotations(
                &format!("{pod} of {name} in {namespace} is down"),
                &format!("Prometheus cannot scrape {pod} ({job}) on its metrics port: the pod is down, restarting, or its metrics port is blocked."),
                "ObscComponentDown",
            ),
        })
    };
    let mut bad_series = vec![up(collector, "collector-a", "1 1 0x20")];
    bad_series.extend(volume("orders-prod", "monitoring-collector-storage", "5x40"));
    // A claim of the team's own, nearly full too: not obsc's to alert on.
    bad_series.extend(volume("orders-prod", "team-data", "1x40"));
    let tests = json!({
        "rule_files": ["orders-prod.json"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": "a collector down, its claim nearly full",
                "interval": "1m",
                "input_series": bad_series,
                "alert_rule_test": [
                    // Down since minute 2, for 5m: not yet at 4, firing at 8.
                    { "eval_time": "4m", "alertname": "ObscComponentDown", "exp_alerts": [] },
                    { "eval_time": "8m", "alertname": "ObscComponentDown", "exp_alerts": [down(collector, "collector-a", "warning", "monitoring-collector", "orders-prod")] },
                    { "eval_time": "8m", "alertname": "ObscComponentNotScraped", "exp_alerts": [] },
                    { "eval_time": "20m", "alertname": "ObscVolumeFillingUp", "exp_alerts": [{
                        "exp_labels": { "severity": "warning", "component": "volumes", "namespace": "orders-prod", "persistentvolumeclaim": "monitoring-collector-storage" },
                        "exp_annotations": annotations(
                            "claim monitoring-collector-storage in orders-prod is nearly full",
                            "Less than 10% of claim monitoring-collector-storage is free (5% left).",
                            "ObscVolumeFillingUp",
                        ),
                    }] },
                ],
            },
            {
                "name": "a collector up, its claim half empty",
                "interval": "1m",
                "input_series": [up(collector, "collector-a", "1x30"), volume("orders-prod", "monitoring-collector-storage", "50x40")[0].clone(), volume("orders-prod", "monitoring-collector-storage", "50x40")[1].clone()],
                "alert_rule_test": [
                    { "eval_time": "20m", "alertname": "ObscComponentDown", "exp_alerts": [] },
                    { "eval_time": "20m", "alertname": "ObscComponentNotScraped", "exp_alerts": [] },
                    { "eval_time": "20m", "alertname": "ObscVolumeFillingUp", "exp_alerts": [] },
                ],
            },
            {
                "name": "a collector never scraped",
                "interval": "1m",
                "input_series": [],
                "alert_rule_test": [
                    { "eval_time": "10m", "alertname": "ObscComponentNotScraped", "exp_alerts": [{
                        "exp_labels": { "severity": "warning", "component": "monitoring-collector", "job": collector },
                        "exp_annotations": annotations(
                            "monitoring-collector in orders-prod is not scraped",
                            "No target of orders-prod/monitoring-collector exists: its pods are gone, or its PodMonitor selects none.",
                            "ObscComponentNotScraped",
                        ),
                    }] },
                ],
            },
        ],
    });
    // A backend's pod down is critical; its other components up keep the rest silent.
    let backends = json!({
        "rule_files": ["ca7f8f-prod.json"],
        "evaluation_interval": "1m",
        "tests": [{
            "name": "a Loki pod down",
            "interval": "1m",
            "input_series": [
                up("ca7f8f-prod/loki", "loki-write-0", "0x20"),
                up("ca7f8f-prod/loki", "loki-read-a", "1x20"),
                up("ca7f8f-prod/tempo", "tempo-0", "1x20"),
                up("ca7f8f-prod/mimir", "mimir-0", "1x20"),
            ],
            "alert_rule_test": [
                { "eval_time": "10m", "alertname": "ObscComponentDown", "exp_alerts": [down("ca7f8f-prod/loki", "loki-write-0", "critical", "loki", "ca7f8f-prod")] },
                { "eval_time": "10m", "alertname": "ObscComponentNotScraped", "exp_alerts": [] },
            ],
        }],
    });
    let file = dir.path().join("tests.json");
    std::fs::write(&file, serde_json::to_string_pretty(&tests).unwrap()).unwrap();
    let backend_file = dir.path().join("backends.json");
    std::fs::write(&backend_file, serde_json::to_string_pretty(&backends).unwrap()).unwrap();
    let (ok, report) = promtool(&["test", "rules"], &[file.clone(), backend_file]);
    assert!(ok, "{report}");
    // promtool fails a test whose alert does not fire as expected: swap the first expectation.
    let text = std::fs::read_to_string(&file).unwrap().replacen("\"eval_time\": \"4m\"", "\"eval_time\": \"9m\"", 1);
    std::fs::write(&file, text).unwrap();
    assert!(!promtool(&["test", "rules"], &[file]).0, "a wrong expectation must fail");
}

/// Runs one promtool unit test file (JSON) over the given rule files of the render.
fn promtool_test(files: &[&str], tests: Value) {
    let dir = tempfile::tempdir().unwrap();
    rule_files(dir.path());
    let file = dir.path().join("tests.json");
    let all = json!({ "rule_files": files, "evaluation_interval": "1m", "tests": tests });
    std::fs::write(&file, serde_json::to_string_pretty(&all).unwrap()).unwrap();
    let (ok, report) = promtool(&["test", "rules"], &[file]);
    assert!(ok, "{report}");
}

/// An alert expected with its labels; annotations as rendered.
fn fired(alert: &str, component: &str, severity: &str, summary: &str, description: &str) -> Value {
    json!({
        "exp_labels": { "severity": severity, "component": component },
        "exp_annotations": annotations(summary, description, alert),
    })
}

#[test]
fn what_the_components_do_alerts_on_bad_cases_only() {
    let loki = "ca7f8f-prod/loki";
    let pushes = |status: &str, per_minute: u32| {
        json!({
            "series": format!("loki_request_duration_seconds_count{{job=\"{loki}\",route=\"loki_api_v1_push\",status_code=\"{status}\"}}"),
            "values": format!("0+{per_minute}x40"),
        })
    };
    let retention = |values: &str| json!({ "series": format!("loki_compactor_apply_retention_last_successful_run_timestamp_seconds{{job=\"{loki}\"}}"), "values": values });
    let limited = |values: &str| json!({ "series": "cortex_discarded_samples_total{job=\"ca7f8f-prod/mimir\",reason=\"rate_limited\"}", "values": values });
    promtool_test(
        &["ca7f8f-prod.json"],
        json!([
            {
                "name": "Loki fails a tenth of its pushes; Mimir rate-limits; retention stopped at start",
                "interval": "1m",
                "input_series": [pushes("500", 10), pushes("204", 90), limited("0+5x40"), retention("0x500")],
                "alert_rule_test": [
                    { "eval_time": "30m", "alertname": "ObscBackendRejectingPushes", "exp_alerts": [fired(
                        "ObscBackendRejectingPushes", "loki", "critical",
                        "loki in ca7f8f-prod fails 10% of pushes",
                        "More than 5% of the pushes to ca7f8f-prod/loki end in a server error: collectors retry, then drop.",
                    )] },
                    { "eval_time": "30m", "alertname": "ObscBackendRateLimited", "exp_alerts": [fired(
                        "ObscBackendRateLimited", "mimir", "warning",
                        "mimir in ca7f8f-prod discards data at a tenant's limits",
                        "ca7f8f-prod/mimir discards what a tenant sends beyond its limits (rate_limited|per_user_series_limit|per_user_active_series_limit).",
                    )] },
                    // Six hours without retention, then the rule's hour.
                    { "eval_time": "6h30m", "alertname": "ObscRetentionNotRunning", "exp_alerts": [] },
                    { "eval_time": "8h", "alertname": "ObscRetentionNotRunning", "exp_alerts": [fired(
                        "ObscRetentionNotRunning", "loki", "warning",
                        "loki in ca7f8f-prod has not applied retention for 6h",
                        "ca7f8f-prod/loki last applied retention more than 6 hours ago: data outlives its retention and storage grows.",
                    )] },
                ],
            },
            {
                "name": "Loki fails one push in a hundred; nothing discarded; retention keeps running",
                "interval": "1m",
                "input_series": [pushes("500", 1), pushes("204", 99), limited("0x40"), retention("0+60x500")],
                "alert_rule_test": [
                    { "eval_time": "30m", "alertname": "ObscBackendRejectingPushes", "exp_alerts": [] },
                    { "eval_time": "30m", "alertname": "ObscBackendRateLimited", "exp_alerts": [] },
                    { "eval_time": "8h", "alertname": "ObscRetentionNotRunning", "exp_alerts": [] },
                ],
            },
        ]),
    );
    let dropped = |values: &str| json!({ "series": "loki_write_dropped_entries_total{job=\"orders-prod/monitoring-collector\",reason=\"rate_limited\"}", "values": values });
    promtool_test(
        &["orders-prod.json"],
        json!([
            {
                "name": "a collector starts dropping at minute 3",
                "interval": "1m",
                "input_series": [dropped("0 0 0 5x20")],
                "alert_rule_test": [{ "eval_time": "12m", "alertname": "ObscCollectorDroppingLogs", "exp_alerts": [fired(
                    "ObscCollectorDroppingLogs", "monitoring-collector", "warning",
                    "the collector of orders-prod drops log entries",
                    "orders-prod/monitoring-collector drops log entries Loki refuses or cannot take (rate limits, line length, a full queue).",
                )] }],
            },
            {
                "name": "a collector that drops nothing",
                "interval": "1m",
                "input_series": [dropped("0x20")],
                "alert_rule_test": [
                    { "eval_time": "12m", "alertname": "ObscCollectorDroppingLogs", "exp_alerts": [] },
                    { "eval_time": "12m", "alertname": "ObscCollectorExportFailing", "exp_alerts": [] },
                ],
            },
        ]),
    );
}

#[test]
fn a_storage_instance_short_of_racks_alerts() {
    let volume = |rack: &str, values: &str| json!({ "series": format!("up{{job=\"ca7f8f-tools/seaweedfs-ha-volume\",pod=\"seaweedfs-ha-volume-{rack}-0\"}}"), "values": values });
    let short = fired(
        "ObscStorageRacksShort",
        "seaweedfs-ha-volume",
        "critical",
        "seaweedfs-ha in ca7f8f-tools has fewer than 2 racks up",
        "Replication `010` keeps copies on 2 racks; with fewer volume servers up, writes of new volumes fail.",
    );
    promtool_test(
        &["ca7f8f-tools.json"],
        json!([
            {
                "name": "two of three racks down",
                "interval": "1m",
                "input_series": [volume("rack1", "1x20"), volume("rack2", "0x20"), volume("rack3", "0x20")],
                "alert_rule_test": [{ "eval_time": "10m", "alertname": "ObscStorageRacksShort", "exp_alerts": [short] }],
            },
            {
                "name": "one of three racks down",
                "interval": "1m",
                "input_series": [volume("rack1", "1x20"), volume("rack2", "1x20"), volume("rack3", "0x20")],
                "alert_rule_test": [{ "eval_time": "10m", "alertname": "ObscStorageRacksShort", "exp_alerts": [] }],
            },
        ]),
    );
}

#[test]
fn every_alert_has_its_runbook_in_the_readme() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let known: Vec<&str> = obsc::render::monitoring::ALERTS.iter().map(|(name, _)| *name).collect();
    for name in &known {
        assert!(readme.contains(&format!("\n### {name}\n")), "README.md has no runbook heading for {name}");
    }
    // And the generated rules raise no alert the list does not know.
    let dir = tempfile::tempdir().unwrap();
    let mut raised = std::collections::BTreeSet::new();
    for file in rule_files(dir.path()) {
        let spec: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        for group in spec["groups"].as_array().unwrap() {
            for rule in group["rules"].as_array().unwrap() {
                raised.insert(rule["alert"].as_str().unwrap().to_string());
            }
        }
    }
    assert_eq!(raised.into_iter().collect::<Vec<_>>(), {
        let mut k: Vec<String> = known.iter().map(|s| s.to_string()).collect();
        k.sort();
        k
    });
}

#[test]
fn a_tenant_near_its_loki_ingestion_limit_alerts() {
    // prod's Loki takes 8 MiB/s per tenant; the warning is at 80%, 6,710,886 bytes/s.
    let received = |per_minute: u64| {
        json!({
            "series": "loki_distributor_bytes_received_total{job=\"ca7f8f-prod/loki\",tenant=\"t\"}",
            "values": format!("0+{per_minute}x40"),
        })
    };
    let near = json!({
        "exp_labels": { "severity": "warning", "component": "loki", "tenant": "t" },
        "exp_annotations": annotations(
            "tenant t sends loki in ca7f8f-prod close to its ingestion limit",
            "More than 80% of `ingestion_rate_mb` (8 MiB/s) for 15 minutes: raise the environment's Loki limits before pushes are refused.",
            "ObscIngestionNearLimit",
        ),
    });
    promtool_test(
        &["ca7f8f-prod.json"],
        json!([
            {
                "name": "7 MB/s",
                "interval": "1m",
                "input_series": [received(7_000_000 * 60)],
                "alert_rule_test": [{ "eval_time": "25m", "alertname": "ObscIngestionNearLimit", "exp_alerts": [near] }],
            },
            {
                "name": "3 MB/s",
                "interval": "1m",
                "input_series": [received(3_000_000 * 60)],
                "alert_rule_test": [{ "eval_time": "25m", "alertname": "ObscIngestionNearLimit", "exp_alerts": [] }],
            },
        ]),
    );
}

#[test]
fn loki_failing_to_write_chunks_alerts_and_failed_reads_do_not() {
    let s3 = |operation: &str, status: &str, per_minute: u32| {
        json!({
            "series": format!("loki_s3_request_duration_seconds_count{{job=\"ca7f8f-prod/loki\",operation=\"{operation}\",status_code=\"{status}\"}}"),
            "values": format!("0+{per_minute}x40"),
        })
    };
    let failing = fired(
        "ObscBackendStorageFailing",
        "loki",
        "critical",
        "loki in ca7f8f-prod fails to use its object storage",
        "ca7f8f-prod/loki keeps failing requests to its S3 bucket: blocks are not written or read.",
    );
    promtool_test(
        &["ca7f8f-prod.json"],
        json!([
            {
                "name": "puts failing",
                "interval": "1m",
                "input_series": [s3("S3.PutObject", "500", 3), s3("S3.PutObject", "200", 30)],
                "alert_rule_test": [{ "eval_time": "25m", "alertname": "ObscBackendStorageFailing", "exp_alerts": [failing] }],
            },
            {
                "name": "reads of missing chunks only",
                "interval": "1m",
                "input_series": [s3("S3.GetObject", "500", 3), s3("S3.PutObject", "200", 30)],
                "alert_rule_test": [{ "eval_time": "25m", "alertname": "ObscBackendStorageFailing", "exp_alerts": [] }],
            },
        ]),
    );
}

#[test]
fn a_collector_failing_to_export_alerts() {
    let failed = |metric: &str, values: &str| {
        json!({
            "series": format!("{metric}{{job=\"orders-prod/monitoring-collector\",exporter=\"otlp/tempo\"}}"),
            "values": values,
        })
    };
    let failing = fired(
        "ObscCollectorExportFailing",
        "monitoring-collector",
        "warning",
        "the collector of orders-prod cannot send spans or metrics",
        "orders-prod/monitoring-collector fails to send spans to Tempo or metrics to Mimir.",
    );
    promtool_test(
        &["orders-prod.json"],
        json!([
            {
                // Only the span counter exists: the metric points' absence must not hide it.
                "name": "spans failing",
                "interval": "1m",
                "input_series": [failed("otelcol_exporter_send_failed_spans_total", "0+10x40")],
                "alert_rule_test": [{ "eval_time": "25m", "alertname": "ObscCollectorExportFailing", "exp_alerts": [failing.clone()] }],
            },
            {
                "name": "metric points failing",
                "interval": "1m",
                "input_series": [failed("otelcol_exporter_send_failed_metric_points_total", "0+10x40")],
                "alert_rule_test": [{ "eval_time": "25m", "alertname": "ObscCollectorExportFailing", "exp_alerts": [failing] }],
            },
            {
                "name": "nothing failing",
                "interval": "1m",
                "input_series": [
                    failed("otelcol_exporter_send_failed_spans_total", "0x40"),
                    failed("otelcol_exporter_send_failed_metric_points_total", "0x40"),
                ],
                "alert_rule_test": [{ "eval_time": "25m", "alertname": "ObscCollectorExportFailing", "exp_alerts": [] }],
            },
        ]),
    );
}

#[test]
fn mimir_and_tempo_failing_their_storage_or_pushes_alert() {
    let series = |metric: &str, labels: &str, per_minute: u32| json!({ "series": format!("{metric}{{{labels}}}"), "values": format!("0+{per_minute}x40") });
    let mimir_pushes = |status: &str, n: u32| {
        series(
            "cortex_request_duration_seconds_count",
            &format!("job=\"ca7f8f-prod/mimir\",route=\"api_v1_push\",status_code=\"{status}\""),
            n,
        )
    };
    promtool_test(
        &["ca7f8f-prod.json"],
        json!([{
            "name": "Mimir's pushes and object store failing, Tempo's backend failing",
            "interval": "1m",
            "input_series": [
                mimir_pushes("500", 20),
                mimir_pushes("200", 80),
                series("thanos_objstore_bucket_operation_failures_total", "job=\"ca7f8f-prod/mimir\",operation=\"upload\"", 2),
                series("tempodb_backend_request_duration_seconds_count", "job=\"ca7f8f-prod/tempo\",operation=\"PUT\",status_code=\"500\"", 2),
            ],
            "alert_rule_test": [
                { "eval_time": "25m", "alertname": "ObscBackendRejectingPushes", "exp_alerts": [fired(
                    "ObscBackendRejectingPushes", "mimir", "critical",
                    "mimir in ca7f8f-prod fails 20% of pushes",
                    "More than 5% of the pushes to ca7f8f-prod/mimir end in a server error: collectors retry, then drop.",
                )] },
                { "eval_time": "25m", "alertname": "ObscBackendStorageFailing", "exp_alerts": [
                    fired(
                        "ObscBackendStorageFailing", "mimir", "critical",
                        "mimir in ca7f8f-prod fails to use its object storage",
                        "ca7f8f-prod/mimir keeps failing requests to its S3 bucket: blocks are not written or read.",
                    ),
                    fired(
                        "ObscBackendStorageFailing", "tempo", "critical",
                        "tempo in ca7f8f-prod fails to use its object storage",
                        "ca7f8f-prod/tempo keeps failing requests to its S3 bucket: blocks are not written or read.",
                    ),
                ] },
            ],
        }]),
    );
}
