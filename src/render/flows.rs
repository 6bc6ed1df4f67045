//! Flows: every connection the rendered configs dial, as data. Each comes from the same
//! address facts the configs are written from ([`crate::facts::addresses`], [`super::peers`]),
//! so the table and the configs cannot disagree; the plan check (`crate::verify`) then proves
//! that the NetworkPolicies allow every flow at both ends, with Kubernetes' own semantics.
//! Far ends outside obsc's namespaces (DNS, the API server, the router, the Thanos querier,
//! PostgreSQL, Redis, Keycloak) are listed here too: `obsc flows` shows them.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::grafana::network::{INGRESS_NGINX_NAMESPACE, OPENSHIFT_INGRESS_LABEL};
use super::peers::{self, Dial};
use super::Context;
use crate::diag::Diagnostic;
use crate::facts::addresses::{collector, grafana, loki, mimir, seaweedfs, tempo, Labels};
use crate::facts::datasources::{backends_of, served_environments};
use crate::model::{self, Target, Tenancy};
use crate::names::Signal;
use crate::plan::{Endpoint, Flow, Protocol};

struct Table(Vec<Flow>);

/// An end as the table takes it: a one-off endpoint (copied in once), or one already shared by
/// many flows (the collector of a namespace, a backend's distributors), which is not copied.
trait End {
    fn share(&self) -> Arc<Endpoint>;
}

impl End for Endpoint {
    fn share(&self) -> Arc<Endpoint> {
        Arc::new(self.clone())
    }
}

impl End for Arc<Endpoint> {
    fn share(&self) -> Arc<Endpoint> {
        Arc::clone(self)
    }
}

impl Table {
    fn add(&mut self, from: &impl End, to: &impl End, port: u16, why: &str) {
        self.add_with(from, to, port, Protocol::Tcp, why);
    }

    fn add_with(&mut self, from: &impl End, to: &impl End, port: u16, protocol: Protocol, why: &str) {
        self.0.push(Flow { from: from.share(), to: to.share(), port, protocol, why: why.to_string() });
    }

    /// Name resolution and, for pods that read the API, the API server.
    fn cluster_services(&mut self, from: &impl End, target: &Target, api: bool, who: &str) {
        let dns = Arc::new(Endpoint::pods(&target.cluster_dns.namespace, &Labels::new()));
        let port = target.cluster_dns.port;
        self.add_with(from, &dns, port, Protocol::Udp, &format!("{who} resolves names"));
        self.add_with(from, &dns, port, Protocol::Tcp, &format!("{who} resolves names"));
        if api {
            let server =
                Endpoint::Address { what: "the Kubernetes API server".to_string(), cidr: "0.0.0.0/0".to_string() };
            self.add(from, &server, target.api_server_port, &format!("{who} reads the Kubernetes API"));
        }
    }
}

/// Every flow of the platform. Every name it follows (a namespace's environment, an
/// environment's storage and target) was proven by the checker; a missing one is a bug.
pub fn of_platform(cx: &Context) -> Result<Vec<Flow>, Box<Diagnostic>> {
    let p = cx.platform;
    let mut t = Table(Vec::new());
    // The backends every collector of an environment dials, each one endpoint for them all.
    let mut shared: BTreeMap<(&str, Labels), Arc<Endpoint>> = BTreeMap::new();

    for (ns_name, ns) in &p.namespaces {
        let env = cx.environment(&ns.environment)?;
        let signals = ns.signals(env);
        let me = Arc::new(Endpoint::pods(ns_name, &collector::pods()));
        let apps = Endpoint::pods(ns_name, &Labels::new());
        for (name, port) in collector::receivers(&signals, &p.collector.ports) {
            t.add(&apps, &me, port, &format!("applications send {name} to their collector"));
        }
        for signal in Signal::ALL {
            let ships = signals.sends(signal) || (signal == Signal::Logs && signals.faro);
            if let Some((pods, port)) =
                ships.then(|| peers::backend_endpoint(&ns.environment, env, signal.backend(), Dial::Push)).flatten()
            {
                let to = shared
                    .entry((env.monitoring_namespace.as_str(), pods))
                    .or_insert_with_key(|(ns, pods)| Arc::new(Endpoint::pods(ns, pods)));
                t.add(
                    &me,
                    &*to,
                    port,
                    &format!("the collector ships {} to {}", signal.as_str(), signal.backend().title()),
                );
            }
        }
        t.cluster_services(&me, cx.target_of_environment(&ns.environment)?, true, "the collector");
    }

    for (env_name, env) in &p.environments {
        let mon = env.monitoring_namespace.as_str();
        let target = cx.target_of_environment(env_name)?;
        let storage = cx.storage(&env.storage)?;
        let s3 = Arc::new(Endpoint::pods(&storage.namespace, &seaweedfs::s3_pods(&env.storage, storage)));
        let ring = Endpoint::pods(mon, &loki::ring(env_name));
        for port in [loki::HTTP_PORT, loki::GRPC_PORT, loki::MEMBERLIST_PORT] {
            t.add(&ring, &ring, port, "Loki's pods talk among themselves (ring, queries, compactor)");
        }
        for pods in peers::backend_pods(env_name, env) {
            let backend = Arc::new(Endpoint::pods(mon, &pods));
            t.add(&backend, &s3, seaweedfs::S3_PORT, "a backend stores its blocks in S3");
            t.cluster_services(&backend, target, false, "a backend");
        }
        if env.tempo.is_some() && env.mimir.is_some() {
            t.add(
                &Endpoint::pods(mon, &tempo::pods(env_name)),
                &Endpoint::pods(mon, &mimir::pods(env_name)),
                mimir::HTTP_PORT,
                "Tempo's metrics generator remote-writes to Mimir",
            );
        }
        if env.mimir.is_some() {
            let members = Endpoint::pods(mon, &mimir::pods(env_name));
            for port in [mimir::HTTP_PORT, mimir::GRPC_PORT, mimir::MEMBERLIST_PORT] {
                t.add(&members, &members, port, "Mimir's replicas talk among themselves (ring, queries)");
            }
        }
    }

    for (name, g) in &p.grafana {
        let target = cx.target(&g.target)?;
        let me = Arc::new(Endpoint::pods(&g.namespace, &grafana::pods(name)));
        for (env_name, env) in served_environments(p, g) {
            for backend in backends_of(env) {
                if let Some((pods, port)) = peers::backend_endpoint(env_name, env, backend, Dial::Query) {
                    let to = Endpoint::pods(&env.monitoring_namespace, &pods);
                    t.add(&me, &to, port, &format!("Grafana queries {} {env_name}", backend.title()));
                }
            }
        }
        t.add(&me, &me, grafana::ALERTING_PORT, "Grafana's replicas gossip alerting state");
        t.add_with(&me, &me, grafana::ALERTING_PORT, Protocol::Udp, "Grafana's replicas gossip alerting state");
        let router = match target.tenancy {
            Tenancy::Namespaced => Endpoint::Pods {
                namespace: "openshift-ingress".to_string(),
                namespace_labels: BTreeMap::from([(OPENSHIFT_INGRESS_LABEL.to_string(), String::new())]),
                pods: Labels::new(),
                ours: false,
            },
            Tenancy::Cluster => Endpoint::pods(INGRESS_NGINX_NAMESPACE, &Labels::new()),
        };
        t.add(&router, &me, grafana::HTTP_PORT, "users reach Grafana through the router");
        // The services Grafana dials at their endpoints: pods in the cluster (the policy port is
        // the pods' own), or an address block outside it (the checker insists on one).
        for (dependency, endpoint) in g.endpoints() {
            let why = format!("Grafana dials its {}", dependency.title());
            match endpoint {
                model::Endpoint::InCluster(e) => {
                    t.add(&me, &Endpoint::their_pods(&e.namespace, &e.pod_labels), e.pod_port(), &why);
                }
                model::Endpoint::Outside(e) => {
                    if let Some(cidr) = &e.cidr {
                        let to = Endpoint::Address { what: dependency.title().to_string(), cidr: cidr.clone() };
                        t.add(&me, &to, e.port, &why);
                    }
                }
            }
        }
        t.cluster_services(&me, target, true, "Grafana (its dashboard sidecar)");
    }

    for (name, storage) in &p.storage {
        let ns = storage.namespace.as_str();
        let target = cx.target(&storage.target)?;
        let role = |r: &str| Endpoint::pods(ns, &seaweedfs::role_pods(name, r));
        let grpc = |port: u16| [port, port + seaweedfs::GRPC_OFFSET];
        let job = role("buckets");
        if storage.ha {
            let (master, volume, filer, s3) = (role("master"), role("volume"), role("filer"), role("s3"));
            for port in grpc(seaweedfs::MASTER_PORT) {
                t.add(&master, &master, port, "SeaweedFS masters keep their raft group");
                t.add(&volume, &master, port, "volume servers report to the masters");
                t.add(&filer, &master, port, "filers ask the masters where volumes are");
                t.add(&job, &master, port, "the bucket Job's weed shell finds the cluster");
            }
            for port in grpc(seaweedfs::VOLUME_PORT) {
                t.add(&master, &volume, port, "masters manage volumes");
                t.add(&filer, &volume, port, "filers read and write chunks");
                t.add(&s3, &volume, port, "the S3 gateway reads and writes chunks");
            }
            for port in grpc(seaweedfs::FILER_PORT) {
                t.add(&s3, &filer, port, "the S3 gateway keeps metadata in the filers");
                t.add(&job, &filer, port, "the bucket Job creates buckets in the filer");
            }
            for pods in [&master, &volume, &filer, &s3, &job] {
                t.cluster_services(pods, target, false, "SeaweedFS");
            }
        } else {
            let server = role("server");
            for port in grpc(seaweedfs::MASTER_PORT).into_iter().chain(grpc(seaweedfs::FILER_PORT)) {
                t.add(&job, &server, port, "the bucket Job's weed shell creates buckets");
            }
            t.cluster_services(&server, target, false, "SeaweedFS");
            t.cluster_services(&job, target, false, "SeaweedFS");
        }
    }
    // The cluster's monitoring stack scrapes every component on its metrics port.
    let mut stacks: BTreeMap<&str, Arc<Endpoint>> = BTreeMap::new();
    for s in cx.scraped.values().flatten() {
        let target = cx.target(&s.target)?;
        let stack = stacks
            .entry(target.scrape.namespace.as_str())
            .or_insert_with_key(|ns| Arc::new(Endpoint::pods(ns, &Labels::new())));
        let why = format!("the cluster's monitoring stack scrapes {}", s.name);
        t.add(&*stack, &Endpoint::pods(&s.namespace, &s.pods), s.port, &why);
    }
    t.0.sort();
    t.0.dedup();
    Ok(t.0)
}
