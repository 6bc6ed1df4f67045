//! SeaweedFS: the object storage every environment's backends write to, in the tools
//! namespace, reached only through its S3 gateway.
//!
//! Non-HA (`ha = false`): one `weed server` pod runs master, volume, filer and S3 gateway.
//! HA: a raft group of masters, one volume StatefulSet per rack, several filers, and a separate
//! S3 gateway Deployment in front of the filers. A rack is only a name SeaweedFS is told
//! (`-rack`), so each rack's StatefulSet is pinned to the nodes of its own zone (required node
//! affinity on `zone_label`), and masters and filers are spread over zones and nodes.
//!
//! Flags: seaweedfs/seaweedfs weed/command/{server,master,volume,filer,s3,shell}.go. The pinned
//! 4.46 is not in the source mirror: the files cited here were read at tag 4.44 (and commit
//! cc8364a03 just after it); the glog, shell and socket behaviour relied on is the same at 4.35.

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Affinity, Container, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodAffinityTerm,
    PodAntiAffinity, PodTemplateSpec, SecretVolumeSource, TopologySpreadConstraint, Volume, WeightedPodAffinityTerm,
};

use super::meta;
use super::{network, peers, pod, workload, Context, Image, Rendered};
use crate::buckets::{self, Bucket};
use crate::diag::Diagnostic;
use crate::facts::addresses::seaweedfs::{
    instance_pods, s3_pods, s3_service, FILER_PORT, GRPC_OFFSET, MASTER_PORT, METRICS_PORT, S3_PORT, VOLUME_PORT,
};
use crate::model::StorageInstance;
use crate::names::service_host;
use crate::secrets::{self, S3_IDENTITIES};

/// Masters and filers keep metadata only.
const METADATA_VOLUME: &str = "5Gi";
const IDENTITIES_DIR: &str = "/etc/seaweedfs/s3";
/// A global flag of `weed`, so it goes before the subcommand (weed/weed.go main() parses the
/// global flag set first, then the subcommand's). glog's default is to write log files to
/// `-logdir`, else `os.TempDir()`, i.e. `/tmp`, rotated at 1800 MB (`-log_max_size_mb`) and
/// kept 5 per severity (weed/glog/glog_file.go createLogDirs): far more than any `/tmp`
/// emptyDir. With this flag they go to stderr only (weed/glog/glog.go output). The image's
/// docker/entrypoint.sh adds it too, but the containers run the binary directly.
const LOG_TO_STDERR: &str = "-logtostderr=true";
/// What `/tmp` still holds once logs go to stderr: the unix sockets each role opens beside its
/// TCP port (`/tmp/seaweedfs-{filer,s3}-<port>.sock`, weed/command/{filer,s3}.go; the
/// per-role gRPC sockets of `weed server`, weed/command/server.go) and the bucket Job's
/// scratch file. Nothing grows there.
const TMP_SIZE: &str = "64Mi";
/// Every volume server is in this one data center: the replication code's first digit (copies
/// in other data centers) must be 0, which the checker insists on. Zones are racks here.
const DATA_CENTER: &str = "dc1";
/// The node label of a node's own name, for "not two on one node".
const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

pub fn render(cx: &Context, name: &str, storage: &StorageInstance) -> Result<Rendered, Box<Diagnostic>> {
    let ns = storage.namespace.as_str();
    let image = cx.image(Image::Seaweedfs).to_string();
    let mut objects = Rendered::default();
    let masters: Vec<String>;
    if storage.ha {
        let zones = Zones::of(storage);
        let master_pods = meta::selector("seaweedfs", "master", name);
        let master_svc = format!("{name}-master");
        masters = (0..storage.masters)
            .map(|i| format!("{master_svc}-{i}.{}:{MASTER_PORT}", service_host(&master_svc, ns)))
            .collect();
        let peer_address = format!("$(POD_NAME).{}", service_host(&master_svc, ns));
        let mut master = weed(
            &image,
            storage,
            "master",
            MASTER_PORT,
            "/cluster/status",
            vec![
                format!("-port={MASTER_PORT}"),
                "-mdir=/data".into(),
                format!("-ip={peer_address}"),
                "-ip.bind=0.0.0.0".into(),
                format!("-peers={}", masters.join(",")),
                format!("-defaultReplication={}", storage.replication),
                "-volumeSizeLimitMB=1024".into(),
            ],
        );
        mount_data(&mut master);
        let mut template = workload::template(&master_pods, vec![master], vec![tmp()], None);
        // A raft group survives losing a minority: no zone and no node may hold a majority.
        zones.spread(&mut template, &master_pods, Spread::Strict { members: storage.masters });
        objects.push(workload::headless(&master_svc, ns, &master_pods, &ports(MASTER_PORT)));
        objects.push(workload::stateful_set(
            &master_svc,
            ns,
            &master_pods,
            storage.masters,
            &master_svc,
            template,
            METADATA_VOLUME,
        ));

        let volume_svc = format!("{name}-volume");
        objects.push(workload::headless(
            &volume_svc,
            ns,
            &meta::selector("seaweedfs", "volume", name),
            &ports(VOLUME_PORT),
        ));
        for (rack, zone) in &storage.racks {
            let pods = meta::selector("seaweedfs", "volume", name);
            let mut pods_of_rack = pods.clone();
            pods_of_rack.insert("obsc.dev/rack".to_string(), rack.clone());
            let mut volume = weed(
                &image,
                storage,
                "volume",
                VOLUME_PORT,
                "/status",
                vec![
                    format!("-port={VOLUME_PORT}"),
                    "-dir=/data".into(),
                    // 0: as many volumes as the disk holds (the binary's own default is 8).
                    "-max=0".into(),
                    format!("-master={}", masters.join(",")),
                    format!("-rack={rack}"),
                    format!("-dataCenter={DATA_CENTER}"),
                    format!("-ip=$(POD_NAME).{}", service_host(&volume_svc, ns)),
                    "-ip.bind=0.0.0.0".into(),
                ],
            );
            mount_data(&mut volume);
            let mut template = workload::template(&pods_of_rack, vec![volume], vec![tmp()], None);
            zones.pin(&mut template, zone);
            objects.push(workload::stateful_set(
                &format!("{volume_svc}-{rack}"),
                ns,
                &pods_of_rack,
                1,
                &volume_svc,
                template,
                &storage.volume_size,
            ));
        }

        let filer_svc = format!("{name}-filer");
        let filer_pods = meta::selector("seaweedfs", "filer", name);
        let mut filer = weed(
            &image,
            storage,
            "filer",
            FILER_PORT,
            "/healthz",
            vec![
                format!("-port={FILER_PORT}"),
                format!("-master={}", masters.join(",")),
                format!("-ip=$(POD_NAME).{}", service_host(&filer_svc, ns)),
                "-ip.bind=0.0.0.0".into(),
                "-defaultStoreDir=/data".into(),
            ],
        );
        mount_data(&mut filer);
        let mut template = workload::template(&filer_pods, vec![filer], vec![tmp()], None);
        // Any filer serves the whole namespace: two on one node would fail together, while a
        // zone short of room must not keep the second filer from starting.
        zones.spread(&mut template, &filer_pods, Spread::Preferred { separate_nodes: true });
        objects.push(workload::headless(&filer_svc, ns, &filer_pods, &ports(FILER_PORT)));
        objects.push(workload::stateful_set(
            &filer_svc,
            ns,
            &filer_pods,
            storage.filers,
            &filer_svc,
            template,
            METADATA_VOLUME,
        ));
        let filers: Vec<String> = (0..storage.filers)
            .map(|i| format!("{filer_svc}-{i}.{}:{FILER_PORT}", service_host(&filer_svc, ns)))
            .collect();

        // The gateway keeps no data: it stores through the filers. Its `/tmp` holds its unix
        // socket (weed/command/s3.go: a failed listen there is fatal).
        let s3_pods = s3_pods(name, storage);
        let mut gateway = weed(
            &image,
            storage,
            "s3",
            S3_PORT,
            "/status",
            vec![
                format!("-port={S3_PORT}"),
                format!("-filer={}", filers.join(",")),
                format!("-config={IDENTITIES_DIR}/{S3_IDENTITIES}"),
                "-ip.bind=0.0.0.0".into(),
                // The gateway also opens Iceberg and Lance endpoints by default; nothing uses them.
                "-port.iceberg=0".into(),
                "-port.lance=0".into(),
            ],
        );
        gateway.ports = Some(vec![pod::port("http", S3_PORT, "TCP"), metrics_port()]);
        push_identities_mount(&mut gateway);
        let mut template = workload::template(&s3_pods, vec![gateway], vec![tmp(), identities(cx, name)], None);
        // Stateless: spread for availability, but never left unscheduled for it.
        zones.spread(&mut template, &s3_pods, Spread::Preferred { separate_nodes: false });
        objects.push(workload::deployment(&s3_service(name), ns, &s3_pods, storage.filers, template));
    } else {
        let pods = meta::selector("seaweedfs", "server", name);
        masters = vec![format!("{name}-0.{}:{MASTER_PORT}", service_host(name, ns))];
        let mut server = weed(
            &image,
            storage,
            "server",
            MASTER_PORT,
            "/cluster/status",
            vec![
                "-dir=/data".into(),
                format!("-ip=$(POD_NAME).{}", service_host(name, ns)),
                "-ip.bind=0.0.0.0".into(),
                format!("-master.port={MASTER_PORT}"),
                format!("-master.defaultReplication={}", storage.replication),
                "-master.volumeSizeLimitMB=1024".into(),
                format!("-volume.port={VOLUME_PORT}"),
                "-volume.max=0".into(),
                "-filer".into(),
                format!("-filer.port={FILER_PORT}"),
                "-s3".into(),
                format!("-s3.port={S3_PORT}"),
                format!("-s3.config={IDENTITIES_DIR}/{S3_IDENTITIES}"),
                "-s3.port.iceberg=0".into(),
                "-s3.port.lance=0".into(),
            ],
        );
        mount_data(&mut server);
        let mut all_ports = Vec::new();
        for (port_name, port) in [("master", MASTER_PORT), ("volume", VOLUME_PORT), ("filer", FILER_PORT)] {
            all_ports.push(pod::port(port_name, port, "TCP"));
            all_ports.push(pod::port(&format!("{port_name}-grpc"), port + GRPC_OFFSET, "TCP"));
        }
        all_ports.push(pod::port("s3", S3_PORT, "TCP"));
        all_ports.push(metrics_port());
        server.ports = Some(all_ports);
        server.readiness_probe = Some(pod::http_probe("/cluster/status", "master", 10));
        server.liveness_probe = Some(pod::http_probe("/cluster/status", "master", 30));
        push_identities_mount(&mut server);
        let internal = [
            ("master", MASTER_PORT),
            ("master-grpc", MASTER_PORT + GRPC_OFFSET),
            ("volume", VOLUME_PORT),
            ("volume-grpc", VOLUME_PORT + GRPC_OFFSET),
            ("filer", FILER_PORT),
            ("filer-grpc", FILER_PORT + GRPC_OFFSET),
        ];
        objects.push(workload::headless(name, ns, &pods, &internal));
        objects.push(workload::stateful_set(
            name,
            ns,
            &pods,
            1,
            name,
            workload::template(&pods, vec![server], vec![tmp(), identities(cx, name)], None),
            &storage.volume_size,
        ));
    }
    let s3_pods = s3_pods(name, storage);
    let s3_port_name = if storage.ha { "http" } else { "s3" };
    objects.push(workload::service(&s3_service(name), ns, &s3_pods, &[(s3_port_name, S3_PORT)]));

    let served: Vec<Bucket> = buckets::of_platform(cx.platform).into_iter().filter(|b| b.storage == name).collect();
    objects.push(bucket_job(cx, name, storage, &masters, &served));
    for policy in policies(cx, name, storage)? {
        objects.push(policy);
    }
    Ok(objects)
}

/// How the pods of an HA role share the failure domains.
enum Spread {
    /// At most one more in any zone than in another (`DoNotSchedule`), never two on one node,
    /// and `minDomains` = the smaller of `members` and the number of rack zones: while fewer
    /// zones have nodes, the scheduler counts the missing ones as empty, so a member stays
    /// Pending rather than doubling up in a zone (Kubernetes 1.33 docs, concepts/
    /// scheduling-eviction/topology-spread-constraints: `minDomains`, stable since 1.30).
    Strict { members: u32 },
    /// Spread over zones where the scheduler can, placed anyway where it cannot; with
    /// `separate_nodes` never two on one node, else preferably not.
    Preferred { separate_nodes: bool },
}

/// An HA instance's failure domains: the node label and the zones its racks are pinned to.
/// Only scheduling constraints on its own pods: nothing reads Node objects, so it stays
/// namespace-scoped.
struct Zones<'a> {
    label: &'a str,
    count: u32,
}

impl<'a> Zones<'a> {
    fn of(storage: &'a StorageInstance) -> Self {
        Zones { label: &storage.zone_label, count: storage.racks.len() as u32 }
    }

    /// A rack's volume server runs only on nodes of its zone, so that two racks are two zones
    /// (the checker makes the zones distinct).
    fn pin(&self, template: &mut PodTemplateSpec, zone: &str) {
        let node_affinity = NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(vec![NodeSelectorRequirement {
                        key: self.label.to_string(),
                        operator: "In".to_string(),
                        values: Some(vec![zone.to_string()]),
                    }]),
                    ..NodeSelectorTerm::default()
                }],
            }),
            ..NodeAffinity::default()
        };
        if let Some(spec) = template.spec.as_mut() {
            spec.affinity = Some(Affinity { node_affinity: Some(node_affinity), ..Affinity::default() });
        }
    }

    /// Spreads a role's pods (selected by `pods`) over the zones, and over nodes.
    fn spread(&self, template: &mut PodTemplateSpec, pods: &meta::Labels, how: Spread) {
        let term = |topology_key: &str| PodAffinityTerm {
            label_selector: Some(meta::match_labels(pods)),
            topology_key: topology_key.to_string(),
            ..PodAffinityTerm::default()
        };
        let (constraint, anti_affinity) = match how {
            Spread::Strict { members } => (
                TopologySpreadConstraint {
                    label_selector: Some(meta::match_labels(pods)),
                    max_skew: 1,
                    min_domains: Some(members.min(self.count).max(1) as i32),
                    topology_key: self.label.to_string(),
                    when_unsatisfiable: "DoNotSchedule".to_string(),
                    ..TopologySpreadConstraint::default()
                },
                PodAntiAffinity {
                    required_during_scheduling_ignored_during_execution: Some(vec![term(HOSTNAME_LABEL)]),
                    ..PodAntiAffinity::default()
                },
            ),
            Spread::Preferred { separate_nodes } => (
                TopologySpreadConstraint {
                    label_selector: Some(meta::match_labels(pods)),
                    max_skew: 1,
                    topology_key: self.label.to_string(),
                    when_unsatisfiable: "ScheduleAnyway".to_string(),
                    ..TopologySpreadConstraint::default()
                },
                if separate_nodes {
                    PodAntiAffinity {
                        required_during_scheduling_ignored_during_execution: Some(vec![term(HOSTNAME_LABEL)]),
                        ..PodAntiAffinity::default()
                    }
                } else {
                    PodAntiAffinity {
                        preferred_during_scheduling_ignored_during_execution: Some(vec![WeightedPodAffinityTerm {
                            pod_affinity_term: term(HOSTNAME_LABEL),
                            weight: 100,
                        }]),
                        ..PodAntiAffinity::default()
                    }
                },
            ),
        };
        if let Some(spec) = template.spec.as_mut() {
            spec.topology_spread_constraints = Some(vec![constraint]);
            spec.affinity = Some(Affinity { pod_anti_affinity: Some(anti_affinity), ..Affinity::default() });
        }
    }
}

/// A container running one `weed` role with its flags, a readiness probe on its HTTP port and
/// a `/tmp` mount; roles that keep data add the `data` claim with [`mount_data`].
fn weed(
    image: &str,
    storage: &StorageInstance,
    role: &str,
    http_port: u16,
    health: &str,
    flags: Vec<String>,
) -> Container {
    let mut c = pod::container(role, image);
    // Run the binary itself: the image's entrypoint adds its own defaults to the flags
    // (docker/entrypoint.sh), so the global flags it adds are written here.
    c.command = Some(vec!["/usr/bin/weed".to_string()]);
    let mut args = vec![LOG_TO_STDERR.to_string(), role.to_string()];
    args.extend(flags);
    // Off unless given a port (weed/stats/metrics.go: port 0 serves nothing); every role, and
    // `weed server` once for all, takes `-metricsPort` (weed/command/master.go, volume.go,
    // filer.go, s3.go, server.go at seaweedfs 4.x).
    args.push(format!("-metricsPort={METRICS_PORT}"));
    c.args = Some(args);
    c.env = Some(vec![workload::pod_name_env()]);
    c.ports = Some(vec![
        pod::port("http", http_port, "TCP"),
        pod::port("grpc", http_port + GRPC_OFFSET, "TCP"),
        metrics_port(),
    ]);
    c.readiness_probe = Some(pod::http_probe(health, "http", 10));
    c.liveness_probe = Some(pod::http_probe(health, "http", 30));
    c.resources = Some(pod::resources(&storage.resources));
    c.volume_mounts = Some(vec![pod::mount("tmp", "/tmp", false)]);
    c
}

/// Where every SeaweedFS role serves its Prometheus metrics.
fn metrics_port() -> k8s_openapi::api::core::v1::ContainerPort {
    pod::port("metrics", METRICS_PORT, "TCP")
}

/// Mounts the StatefulSet's `data` claim at `/data`.
fn mount_data(c: &mut Container) {
    c.volume_mounts.get_or_insert_with(Vec::new).insert(0, pod::mount("data", "/data", false));
}

fn ports(http: u16) -> [(&'static str, u16); 2] {
    [("http", http), ("grpc", http + GRPC_OFFSET)]
}

fn tmp() -> Volume {
    pod::empty_dir("tmp", TMP_SIZE)
}

fn identities(cx: &Context, instance: &str) -> Volume {
    let secret = secrets::storage_identities(cx.platform, instance);
    Volume {
        name: "identities".to_string(),
        secret: Some(SecretVolumeSource { secret_name: Some(secret.name), ..SecretVolumeSource::default() }),
        ..Volume::default()
    }
}

fn push_identities_mount(c: &mut Container) {
    c.volume_mounts.get_or_insert_with(Vec::new).push(pod::mount("identities", IDENTITIES_DIR, true));
}

/// How long the bucket Job waits for a master with a registered filer before it fails (and
/// Kubernetes starts it again, up to [`BUCKET_JOB_RETRIES`] times).
const WAIT_SECONDS: u32 = 300;
/// The time limit of one `weed shell` run: it waits forever for a master that does not answer
/// (weed/shell/shell_liner.go RunShell: `WaitUntilConnected` on a background context).
const SHELL_SECONDS: u32 = 60;
const BUCKET_JOB_RETRIES: i32 = 10;

/// Creates the instance's missing buckets and succeeds only once every one of them exists; safe
/// to rerun (an existing bucket is left alone). A failed run exits non-zero, so Kubernetes runs
/// it again. Its name carries a hash of the pod's inputs (bucket list, masters, script, image),
/// because a Job's pod template cannot change after creation: changed inputs give a new Job.
fn bucket_job(cx: &Context, name: &str, storage: &StorageInstance, masters: &[String], served: &[Bucket]) -> Job {
    let names: Vec<&str> = served.iter().map(|b| b.name.as_str()).collect();
    let list = names.join(" ");
    let image = cx.image(Image::Seaweedfs);
    let variables = [
        ("MASTERS", masters.join(",")),
        ("BUCKETS", list),
        ("WAIT_SECONDS", WAIT_SECONDS.to_string()),
        ("SHELL_SECONDS", SHELL_SECONDS.to_string()),
        // The shell's scratch file; the root filesystem is read-only.
        ("TMPDIR", "/tmp".to_string()),
    ];
    let inputs: Vec<String> = variables.iter().map(|(name, value)| format!("{name}={value}")).collect();
    let env: Vec<_> = variables.iter().map(|(name, value)| workload::env(name, value)).collect();
    let job_name =
        format!("{name}-buckets-{}", &super::sha256(&format!("{}\n{image}\n{CREATE_BUCKETS}", inputs.join("\n")))[..8]);
    let pods = meta::selector("seaweedfs", "buckets", name);
    let mut c = pod::container("create-buckets", image);
    c.command = Some(vec!["/bin/sh".to_string(), "-c".to_string(), CREATE_BUCKETS.to_string()]);
    c.env = Some(env);
    c.resources = Some(pod::resources(&storage.resources));
    c.volume_mounts = Some(vec![pod::mount("tmp", "/tmp", false)]);
    let mut template = workload::template(&pods, vec![c], vec![tmp()], None);
    if let Some(spec) = template.spec.as_mut() {
        spec.restart_policy = Some("OnFailure".to_string());
    }
    Job {
        metadata: meta::object(&job_name, &storage.namespace, &pods),
        spec: Some(JobSpec { backoff_limit: Some(BUCKET_JOB_RETRIES), template, ..JobSpec::default() }),
        ..Job::default()
    }
}

/// The bucket Job's script: constant text, its inputs come from the environment (MASTERS,
/// BUCKETS, WAIT_SECONDS, SHELL_SECONDS). It runs in the SeaweedFS image (Alpine: busybox `sh`,
/// `timeout`, `awk`, `grep`, `mktemp`, `date`).
///
/// `weed shell` (weed/command/shell.go runShell, weed/shell/shell_liner.go) exits 0 whatever
/// happens: a failed command prints `error: ...` (an unknown one `unknown command: ...`) on
/// stderr and the shell reads on. So a run counts only if it ends in time, exits 0 and reported
/// no error, and the script ends by listing the buckets again. Without `-debug` the shell turns
/// stderr logging off (RunShell), sending glog to files in /tmp; `-debug` only adds a line
/// naming the master and filers. `s3.bucket.list` (weed/shell/command_s3_bucket_list.go)
/// prints one line per bucket, the name first; `s3.bucket.create`
/// (weed/shell/command_s3_bucket_create.go) overwrites an existing bucket's entry (owner,
/// quota, object lock), so only missing buckets are created.
const CREATE_BUCKETS: &str = r#"set -eu
set -f
errors="$(mktemp)"
trap 'rm -f "$errors"' EXIT

# One weed shell command; prints what it printed. Fails if the shell did not end within
# SHELL_SECONDS, exited non-zero or reported an error.
weed_shell() {
  if printf '%s
' "$1" | timeout "$SHELL_SECONDS" weed -logtostderr=true shell -debug -master="$MASTERS" 2>"$errors"; then
    if ! grep -Eq '^(error|unknown command)' "$errors"; then
      return 0
    fi
  fi
  cat "$errors" >&2
  return 1
}

# Whether $listing holds bucket $1: the first word of a line, matched exactly.
listed() {
  printf '%s
' "$listing" | awk '{ print $1 }' | grep -Fxq -- "$1"
}

# Listing the buckets needs a master and a filer registered with it.
deadline=$(( $(date +%s) + WAIT_SECONDS ))
until listing="$(weed_shell 's3.bucket.list')"; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "no master with a filer answered within ${WAIT_SECONDS}s" >&2
    exit 1
  fi
  echo "waiting for a master with a filer"
  sleep 5
done

for bucket in $BUCKETS; do
  if listed "$bucket"; then
    echo "bucket $bucket exists"
  elif weed_shell "s3.bucket.create -name $bucket"; then
    echo "bucket $bucket created"
  else
    echo "bucket $bucket: creating it failed" >&2
  fi
done

if ! listing="$(weed_shell 's3.bucket.list')"; then
  echo "could not list the buckets to verify them" >&2
  exit 1
fi
missing=""
for bucket in $BUCKETS; do
  listed "$bucket" || missing="$missing $bucket"
done
if [ -n "$missing" ]; then
  echo "buckets still missing:$missing" >&2
  exit 1
fi
echo "every bucket exists"
"#;

/// Internals accept only their own instance's pods; the S3 port also admits the backends of the
/// environments the instance serves.
fn policies(
    cx: &Context,
    name: &str,
    storage: &StorageInstance,
) -> Result<Vec<k8s_openapi::api::networking::v1::NetworkPolicy>, Box<Diagnostic>> {
    let ns = storage.namespace.as_str();
    let instance_pods = instance_pods(name);
    let target = cx.target(&storage.target)?;
    let internal = network::policy(
        name,
        ns,
        &instance_pods,
        vec![network::allow_in(vec![network::same_namespace(Some(&instance_pods))], Vec::new())],
        vec![network::dns(target), network::allow_out(vec![network::same_namespace(Some(&instance_pods))], Vec::new())],
    );
    let clients = peers::s3_clients(cx, name);
    let s3_pods = s3_pods(name, storage);
    let ingress =
        if clients.is_empty() { Vec::new() } else { vec![network::allow_in(clients, vec![network::tcp(S3_PORT)])] };
    let mut out = vec![internal, network::ingress_only(&s3_service(name), ns, &s3_pods, ingress)];
    // The cluster's monitoring stack reads every role's metrics (`crate::facts::scrape`).
    if target.scrape.enabled {
        let stack = vec![network::in_namespace(&target.scrape.namespace, None)];
        out.push(network::ingress_only(
            &format!("{name}-metrics"),
            ns,
            &instance_pods,
            vec![network::allow_in(stack, vec![network::tcp(METRICS_PORT)])],
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;
    use std::process::{Command, Output};

    use super::CREATE_BUCKETS;

    /// A stand-in for `weed shell`, behaving as `FAKE_MODE` says: `no-filer` answers every
    /// command with an error on stderr and exits 0 (what the real shell does before a filer has
    /// registered); `ok` lists the buckets in `$FAKE_DIR/buckets` the way `s3.bucket.list`
    /// does and creates buckets, logging each creation to `$FAKE_DIR/created`; `create-fails`
    /// lists but fails to create (error on stderr, exit 0).
    const FAKE_WEED: &str = r#"#!/bin/sh
if [ "$1" != "-logtostderr=true" ] || [ "$2" != "shell" ]; then
  echo "unexpected arguments: $*" >&2
  exit 2
fi
while read -r line; do
  set -- $line
  case "$FAKE_MODE:$1" in
    no-filer:*)
      echo "error: read buckets: get filer configuration: no filer" >&2 ;;
    *:s3.bucket.list)
      while read -r bucket; do
        printf '  %s\tsize:0\tlogical:0\tchunk:0\n' "$bucket"
      done < "$FAKE_DIR/buckets" ;;
    ok:s3.bucket.create)
      echo "create bucket under /buckets"
      echo "$3" >> "$FAKE_DIR/buckets"
      echo "$3" >> "$FAKE_DIR/created"
      echo "created bucket $3" ;;
    create-fails:s3.bucket.create)
      echo "error: create bucket: filer unavailable" >&2 ;;
    *)
      echo "unknown command: $1" >&2 ;;
  esac
done
exit 0
"#;

    fn run(dir: &Path, mode: &str, existing: &[&str]) -> Output {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let weed = bin.join("weed");
        std::fs::write(&weed, FAKE_WEED).unwrap();
        std::fs::set_permissions(&weed, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut listed = existing.join("\n");
        if !listed.is_empty() {
            listed.push('\n');
        }
        std::fs::write(dir.join("buckets"), listed).unwrap();
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        Command::new("sh")
            .arg("-c")
            .arg(CREATE_BUCKETS)
            .env("PATH", path)
            .env("TMPDIR", dir)
            .env("FAKE_MODE", mode)
            .env("FAKE_DIR", dir)
            .env("MASTERS", "m-0:9333,m-1:9333")
            .env("BUCKETS", "dts-logs-prod-chunks dts-logs-prod-ruler dts-traces-prod-blocks")
            .env("WAIT_SECONDS", "0")
            .env("SHELL_SECONDS", "10")
            .output()
            .unwrap()
    }

    fn created(dir: &Path) -> String {
        std::fs::read_to_string(dir.join("created")).unwrap_or_default()
    }

    #[test]
    fn bucket_script_fails_while_no_filer_answers_though_the_shell_exits_0() {
        let dir = tempfile::tempdir().unwrap();
        let out = run(dir.path(), "no-filer", &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
        assert!(stderr.contains("error: read buckets"), "the shell's error is shown: {stderr}");
        assert!(stderr.contains("no master with a filer answered within 0s"), "{stderr}");
        assert_eq!(created(dir.path()), "");
    }

    #[test]
    fn bucket_script_creates_only_missing_buckets_and_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        // A bucket whose name extends a wanted one must not count as the wanted one.
        let out = run(dir.path(), "ok", &["dts-logs-prod-ruler", "dts-logs-prod-chunks-old"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(created(dir.path()), "dts-logs-prod-chunks\ndts-traces-prod-blocks\n");
        assert!(stdout.contains("bucket dts-logs-prod-ruler exists\n"), "{stdout}");
        assert!(stdout.ends_with("every bucket exists\n"), "{stdout}");
    }

    #[test]
    fn bucket_script_fails_when_a_bucket_is_still_missing_after_creation() {
        let dir = tempfile::tempdir().unwrap();
        let out = run(dir.path(), "create-fails", &["dts-logs-prod-ruler"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
        assert!(stderr.contains("buckets still missing: dts-logs-prod-chunks dts-traces-prod-blocks\n"), "{stderr}");
    }

    #[test]
    fn bucket_script_succeeds_without_creating_when_every_bucket_exists() {
        let dir = tempfile::tempdir().unwrap();
        let out = run(dir.path(), "ok", &["dts-traces-prod-blocks", "dts-logs-prod-chunks", "dts-logs-prod-ruler"]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(created(dir.path()), "");
    }
}
