//! SeaweedFS as obsc renders it for the shipped platform (a fresh `obsc build --all`): every
//! mount has its volume, every `weed` process logs to stderr instead of files in `/tmp`, the
//! HA instance's racks are pinned to distinct zones with its masters and filers spread over
//! zones and nodes, and the bucket Job retries until its buckets exist. The bucket script's
//! behaviour against a fake `weed shell` is tested beside it in src/render/seaweedfs.rs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The whole platform rendered once (into Cargo's scratch directory for tests), shared by the
/// tests of this file.
fn out() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("seaweedfs-render");
        let built = Command::new(env!("CARGO_BIN_EXE_obsc"))
            .current_dir(root())
            .args(["build", "--all", "-o"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(built.status.success(), "obsc build --all failed: {}", String::from_utf8_lossy(&built.stderr));
        dir
    })
}

fn files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(out().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn object(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn get(dir: &str, file: &str) -> Value {
    object(&out().join(dir).join(file))
}

const TOOLS: &str = "tools/ca7f8f-tools";
const KIND: &str = "kind/obsc-storage";

/// Every SeaweedFS workload of the tools and kind storage namespaces: (file name, object).
fn workloads() -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for dir in [TOOLS, KIND] {
        for path in files(dir) {
            let o = object(&path);
            let seaweedfs = o["metadata"]["labels"]["app.kubernetes.io/name"] == "seaweedfs";
            if seaweedfs && matches!(o["kind"].as_str(), Some("Deployment" | "StatefulSet" | "Job")) {
                found.push((format!("{dir}/{}", path.file_name().unwrap().to_string_lossy()), o));
            }
        }
    }
    assert!(found.len() >= 10, "expected both instances and kind's, found {}", found.len());
    found
}

fn names(list: &Value) -> BTreeSet<String> {
    list.as_array().into_iter().flatten().map(|v| v["name"].as_str().unwrap().to_string()).collect()
}

#[test]
fn every_mount_names_a_volume_of_its_pod() {
    for (file, o) in workloads() {
        let spec = &o["spec"]["template"]["spec"];
        let mut volumes = names(&spec["volumes"]);
        for claim in o["spec"]["volumeClaimTemplates"].as_array().into_iter().flatten() {
            volumes.insert(claim["metadata"]["name"].as_str().unwrap().to_string());
        }
        for c in spec["containers"].as_array().unwrap() {
            for mount in names(&c["volumeMounts"]) {
                assert!(
                    volumes.contains(&mount),
                    "{file}: container {} mounts `{mount}`, not among {volumes:?}",
                    c["name"]
                );
            }
        }
    }
    // The gateway keeps no data: only its socket directory and the identities.
    let gateway = get(TOOLS, "deployment-seaweedfs-ha-s3.yaml");
    let c = &gateway["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(names(&c["volumeMounts"]), BTreeSet::from(["identities".to_string(), "tmp".to_string()]));
}

#[test]
fn every_weed_process_logs_to_stderr_not_to_tmp() {
    let mut roles = Vec::new();
    for (file, o) in workloads() {
        let spec = &o["spec"]["template"]["spec"];
        for c in spec["containers"].as_array().unwrap() {
            if c["command"] == json!(["/usr/bin/weed"]) {
                // A global flag: before the subcommand, or weed reads it as the subcommand's.
                assert_eq!(c["args"][0], "-logtostderr=true", "{file}");
                assert_eq!(c["args"][1], c["name"], "{file}: the subcommand follows the global flags");
                roles.push(c["name"].as_str().unwrap().to_string());
            } else {
                assert_eq!(o["kind"], "Job", "{file}: only the bucket Job runs weed through a script");
                let script = c["command"][2].as_str().unwrap();
                // `weed shell` turns stderr logging off unless it runs with -debug.
                assert!(script.contains("weed -logtostderr=true shell -debug "), "{file}");
            }
        }
        // /tmp keeps only sockets and a scratch file now: a small cap.
        for v in spec["volumes"].as_array().unwrap() {
            if v["name"] == "tmp" {
                assert_eq!(v["emptyDir"]["sizeLimit"], "64Mi", "{file}");
            }
        }
    }
    roles.sort();
    assert_eq!(roles, ["filer", "master", "s3", "server", "server", "volume", "volume", "volume"]);
}

#[test]
fn ha_racks_are_pinned_to_distinct_zones() {
    for (i, zone) in ["zone-a", "zone-b", "zone-c"].iter().enumerate() {
        let rack = format!("rack{}", i + 1);
        let set = get(TOOLS, &format!("statefulset-seaweedfs-ha-volume-{rack}.yaml"));
        let spec = &set["spec"]["template"]["spec"];
        assert_eq!(
            spec["affinity"],
            json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}]}
            ]}}}),
            "{rack}"
        );
        let args: Vec<&str> =
            spec["containers"][0]["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert!(args.contains(&format!("-rack={rack}").as_str()), "{args:?}");
        // One data center, as replication `010` (first digit 0) says.
        assert!(args.contains(&"-dataCenter=dc1"), "{args:?}");
    }
}

#[test]
fn ha_masters_and_filers_are_spread_over_zones_and_nodes() {
    let hostname =
        |pods: &Value| json!([{"labelSelector": {"matchLabels": pods}, "topologyKey": "kubernetes.io/hostname"}]);

    let masters = get(TOOLS, "statefulset-seaweedfs-ha-master.yaml");
    let pods = &masters["spec"]["selector"]["matchLabels"];
    let spec = &masters["spec"]["template"]["spec"];
    assert_eq!(
        spec["topologySpreadConstraints"],
        json!([{
            "labelSelector": {"matchLabels": pods},
            "maxSkew": 1,
            "minDomains": 3,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
        }])
    );
    assert_eq!(spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"], hostname(pods));

    let filers = get(TOOLS, "statefulset-seaweedfs-ha-filer.yaml");
    let pods = &filers["spec"]["selector"]["matchLabels"];
    let spec = &filers["spec"]["template"]["spec"];
    assert_eq!(spec["topologySpreadConstraints"][0]["topologyKey"], "topology.kubernetes.io/zone");
    assert_eq!(spec["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"], *pods);
    assert_eq!(spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"], hostname(pods));

    // The single-server instances have nothing to spread.
    for (dir, file) in [(TOOLS, "statefulset-seaweedfs-dev.yaml"), (KIND, "statefulset-seaweedfs-kind.yaml")] {
        let spec = &get(dir, file)["spec"]["template"]["spec"];
        assert!(spec["affinity"].is_null() && spec["topologySpreadConstraints"].is_null(), "{file}");
    }
}

#[test]
fn bucket_jobs_retry_until_their_buckets_exist() {
    let jobs: Vec<(String, Value)> = workloads().into_iter().filter(|(_, o)| o["kind"] == "Job").collect();
    assert_eq!(jobs.len(), 3);
    for (file, job) in jobs {
        assert_eq!(job["spec"]["backoffLimit"], 10, "{file}");
        let spec = &job["spec"]["template"]["spec"];
        assert_eq!(spec["restartPolicy"], "OnFailure", "{file}");
        let env: BTreeSet<String> = names(&spec["containers"][0]["env"]);
        for var in ["MASTERS", "BUCKETS", "WAIT_SECONDS", "SHELL_SECONDS"] {
            assert!(env.contains(var), "{file}: {var}");
        }
        let script = spec["containers"][0]["command"][2].as_str().unwrap();
        assert!(script.contains("timeout \"$SHELL_SECONDS\" weed"), "{file}: a shell run is bounded");
        assert!(script.contains("buckets still missing"), "{file}: the script verifies");
    }
}

/// `obsc secrets` lists as readers the objects that really mount or read a Secret (it is derived
/// from the objects): the gateway and the single server read the identities, no bucket Job does.
#[test]
fn the_identities_secret_is_read_by_the_s3_servers_only() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_obsc"))
        .current_dir(root())
        .args(["secrets", "tools"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    let readers: Vec<&str> = text.lines().filter_map(|l| l.trim().strip_prefix("read by: ")).collect();
    // No bucket Job among them: they talk to the master and filer, not S3.
    assert_eq!(readers, vec!["StatefulSet/seaweedfs-dev", "Deployment/seaweedfs-ha-s3"], "{text}");
}
