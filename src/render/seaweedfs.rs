//! SeaweedFS: the object storage every environment's backends write to, in the tools
//! namespace, reached only through its S3 gateway.
//!
//! Non-HA (`ha = false`): one `weed server` pod runs master, volume, filer and S3 gateway.
//! HA: a raft group of masters, one volume StatefulSet per rack (a rack is a per-process flag),
//! several filers, and a separate S3 gateway Deployment in front of the filers.
//! Flags: seaweedfs/seaweedfs weed/command/{server,master,volume,filer,s3}.go.

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, SecretVolumeSource, Volume};

use super::meta;
use super::{network, peers, pod, workload, Context, Image, Rendered};
use crate::buckets::{self, Bucket};
use crate::diag::Diagnostic;
use crate::facts::addresses::seaweedfs::{instance_pods, s3_pods, s3_service, S3_PORT};
use crate::model::StorageInstance;
use crate::names::service_host;
use crate::secrets::{self, S3_IDENTITIES};
const MASTER_PORT: u16 = 9333;
const VOLUME_PORT: u16 = 8080;
const FILER_PORT: u16 = 8888;
/// SeaweedFS serves gRPC on the HTTP port + 10000.
const GRPC_OFFSET: u16 = 10000;
/// Masters and filers keep metadata only.
const METADATA_VOLUME: &str = "5Gi";
const IDENTITIES_DIR: &str = "/etc/seaweedfs/s3";

/// Rack names of the volume servers: `rack1`, `rack2`...
pub fn racks(storage: &StorageInstance) -> Vec<String> {
    (1..=storage.racks).map(|i| format!("rack{i}")).collect()
}

pub fn render(cx: &Context, name: &str, storage: &StorageInstance) -> Result<Rendered, Box<Diagnostic>> {
    let ns = storage.namespace.as_str();
    let image = cx.image(Image::Seaweedfs).to_string();
    let mut objects = Rendered::default();
    let masters: Vec<String>;
    if storage.ha {
        let master_pods = meta::selector("seaweedfs", "master", name);
        let master_svc = format!("{name}-master");
        masters = (0..storage.masters)
            .map(|i| format!("{master_svc}-{i}.{}:{MASTER_PORT}", service_host(&master_svc, ns)))
            .collect();
        let peer_address = format!("$(POD_NAME).{}", service_host(&master_svc, ns));
        let mut master = weed(&image, storage, "master", MASTER_PORT, "/cluster/status");
        master.args = Some(vec![
            "master".into(),
            format!("-port={MASTER_PORT}"),
            "-mdir=/data".into(),
            format!("-ip={peer_address}"),
            "-ip.bind=0.0.0.0".into(),
            format!("-peers={}", masters.join(",")),
            format!("-defaultReplication={}", storage.replication),
            "-volumeSizeLimitMB=1024".into(),
        ]);
        objects.push(workload::headless(&master_svc, ns, &master_pods, &ports(MASTER_PORT)));
        objects.push(workload::stateful_set(
            &master_svc,
            ns,
            &master_pods,
            storage.masters,
            &master_svc,
            workload::template(&master_pods, vec![master], vec![tmp()], None),
            METADATA_VOLUME,
        ));

        let volume_svc = format!("{name}-volume");
        objects.push(workload::headless(
            &volume_svc,
            ns,
            &meta::selector("seaweedfs", "volume", name),
            &ports(VOLUME_PORT),
        ));
        for rack in racks(storage) {
            let pods = meta::selector("seaweedfs", "volume", name);
            let mut pods_of_rack = pods.clone();
            pods_of_rack.insert("obsc.dev/rack".to_string(), rack.clone());
            let mut volume = weed(&image, storage, "volume", VOLUME_PORT, "/status");
            volume.args = Some(vec![
                "volume".into(),
                format!("-port={VOLUME_PORT}"),
                "-dir=/data".into(),
                // 0: as many volumes as the disk holds (the binary's own default is 8).
                "-max=0".into(),
                format!("-master={}", masters.join(",")),
                format!("-rack={rack}"),
                "-dataCenter=dc1".into(),
                format!("-ip=$(POD_NAME).{}", service_host(&volume_svc, ns)),
                "-ip.bind=0.0.0.0".into(),
            ]);
            objects.push(workload::stateful_set(
                &format!("{volume_svc}-{rack}"),
                ns,
                &pods_of_rack,
                1,
                &volume_svc,
                workload::template(&pods_of_rack, vec![volume], vec![tmp()], None),
                &storage.volume_size,
            ));
        }

        let filer_svc = format!("{name}-filer");
        let filer_pods = meta::selector("seaweedfs", "filer", name);
        let mut filer = weed(&image, storage, "filer", FILER_PORT, "/healthz");
        filer.args = Some(vec![
            "filer".into(),
            format!("-port={FILER_PORT}"),
            format!("-master={}", masters.join(",")),
            format!("-ip=$(POD_NAME).{}", service_host(&filer_svc, ns)),
            "-ip.bind=0.0.0.0".into(),
            "-defaultStoreDir=/data".into(),
        ]);
        objects.push(workload::headless(&filer_svc, ns, &filer_pods, &ports(FILER_PORT)));
        objects.push(workload::stateful_set(
            &filer_svc,
            ns,
            &filer_pods,
            storage.filers,
            &filer_svc,
            workload::template(&filer_pods, vec![filer], vec![tmp()], None),
            METADATA_VOLUME,
        ));
        let filers: Vec<String> = (0..storage.filers)
            .map(|i| format!("{filer_svc}-{i}.{}:{FILER_PORT}", service_host(&filer_svc, ns)))
            .collect();

        let s3_pods = s3_pods(name, storage);
        let mut gateway = weed(&image, storage, "s3", S3_PORT, "/status");
        gateway.args = Some(vec![
            "s3".into(),
            format!("-port={S3_PORT}"),
            format!("-filer={}", filers.join(",")),
            format!("-config={IDENTITIES_DIR}/{S3_IDENTITIES}"),
            "-ip.bind=0.0.0.0".into(),
            // The gateway also opens Iceberg and Lance endpoints by default; nothing uses them.
            "-port.iceberg=0".into(),
            "-port.lance=0".into(),
        ]);
        gateway.ports = Some(vec![pod::port("http", S3_PORT, "TCP")]);
        push_identities_mount(&mut gateway);
        objects.push(workload::deployment(
            &s3_service(name),
            ns,
            &s3_pods,
            storage.filers,
            workload::template(&s3_pods, vec![gateway], vec![tmp(), identities(cx, name)], None),
        ));
    } else {
        let pods = meta::selector("seaweedfs", "server", name);
        masters = vec![format!("{name}-0.{}:{MASTER_PORT}", service_host(name, ns))];
        let mut server = weed(&image, storage, "server", MASTER_PORT, "/cluster/status");
        server.args = Some(vec![
            "server".into(),
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
        ]);
        let mut all_ports = Vec::new();
        for (port_name, port) in [("master", MASTER_PORT), ("volume", VOLUME_PORT), ("filer", FILER_PORT)] {
            all_ports.push(pod::port(port_name, port, "TCP"));
            all_ports.push(pod::port(&format!("{port_name}-grpc"), port + GRPC_OFFSET, "TCP"));
        }
        all_ports.push(pod::port("s3", S3_PORT, "TCP"));
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
    for policy in policies(cx, name, storage) {
        objects.push(policy);
    }
    Ok(objects)
}

/// A container running one `weed` role, with a readiness probe on its HTTP port.
fn weed(image: &str, storage: &StorageInstance, role: &str, http_port: u16, health: &str) -> Container {
    let mut c = pod::container(role, image);
    // Run the binary itself: the image's entrypoint adds its own defaults to the flags.
    c.command = Some(vec!["/usr/bin/weed".to_string()]);
    c.env = Some(vec![workload::pod_name_env()]);
    c.ports = Some(vec![pod::port("http", http_port, "TCP"), pod::port("grpc", http_port + GRPC_OFFSET, "TCP")]);
    c.readiness_probe = Some(pod::http_probe(health, "http", 10));
    c.liveness_probe = Some(pod::http_probe(health, "http", 30));
    c.resources = Some(pod::resources(&storage.resources));
    c.volume_mounts = Some(vec![pod::mount("data", "/data", false), pod::mount("tmp", "/tmp", false)]);
    c
}

fn ports(http: u16) -> [(&'static str, u16); 2] {
    [("http", http), ("grpc", http + GRPC_OFFSET)]
}

fn tmp() -> Volume {
    pod::empty_dir("tmp", "1Gi")
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

/// Creates the instance's buckets; safe to rerun (an existing bucket is left alone). Its name
/// carries a hash of the bucket list, because a Job's pod template cannot change after
/// creation: a new list gives a new Job.
fn bucket_job(cx: &Context, name: &str, storage: &StorageInstance, masters: &[String], served: &[Bucket]) -> Job {
    let names: Vec<&str> = served.iter().map(|b| b.name.as_str()).collect();
    let list = names.join(" ");
    let job_name = format!("{name}-buckets-{}", &super::sha256(&list)[..8]);
    let pods = meta::selector("seaweedfs", "buckets", name);
    let mut c = pod::container("create-buckets", cx.image(Image::Seaweedfs));
    c.command = Some(vec!["/bin/sh".to_string(), "-c".to_string(), CREATE_BUCKETS.to_string()]);
    c.env = Some(vec![
        workload::env("MASTERS", &masters.join(",")),
        workload::env("BUCKETS", &list),
        // `weed shell` keeps a history file in $HOME; the root filesystem is read-only.
        workload::env("HOME", "/tmp"),
    ]);
    c.resources = Some(pod::resources(&storage.resources));
    c.volume_mounts = Some(vec![pod::mount("tmp", "/tmp", false)]);
    let mut template = workload::template(&pods, vec![c], vec![tmp()], None);
    if let Some(spec) = template.spec.as_mut() {
        spec.restart_policy = Some("OnFailure".to_string());
    }
    Job {
        metadata: meta::object(&job_name, &storage.namespace, &pods),
        spec: Some(JobSpec { backoff_limit: Some(10), template, ..JobSpec::default() }),
        ..Job::default()
    }
}

/// The bucket Job's script: constant text, its inputs come from the environment.
const CREATE_BUCKETS: &str = r#"set -eu
existing="$(echo 's3.bucket.list' | weed shell -master="$MASTERS")"
for bucket in $BUCKETS; do
  if printf '%s\n' "$existing" | grep -Eq "(^|[[:space:]])${bucket}([[:space:]]|$)"; then
    echo "bucket ${bucket} exists"
  else
    echo "s3.bucket.create -name ${bucket}" | weed shell -master="$MASTERS"
    echo "bucket ${bucket} created"
  fi
done
"#;

/// Internals accept only their own instance's pods; the S3 port also admits the backends of the
/// environments the instance serves.
fn policies(
    cx: &Context,
    name: &str,
    storage: &StorageInstance,
) -> Vec<k8s_openapi::api::networking::v1::NetworkPolicy> {
    let ns = storage.namespace.as_str();
    let instance_pods = instance_pods(name);
    let target = &cx.platform.targets[&storage.target];
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
    vec![internal, network::ingress_only(&s3_service(name), ns, &s3_pods, ingress)]
}
