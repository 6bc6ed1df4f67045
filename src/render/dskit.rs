//! Config blocks Loki, Tempo, Mimir and Pyroscope share through Grafana's dskit library: the
//! server's ports, the memberlist ring and its key-value store. One type each, so the three
//! backends write them alike.
//! Keys: grafana/dskit server/server.go, kv/memberlist/memberlist_client.go, kv/client.go.

use serde::Serialize;

/// `server`.
#[derive(Serialize)]
pub struct Server {
    pub http_listen_port: u16,
    pub grpc_listen_port: u16,
}

/// `memberlist`: `dns+` makes dskit resolve the headless Service to every member's address.
#[derive(Serialize)]
pub struct Memberlist {
    pub join_members: Vec<String>,
}

/// `ring.kvstore`.
#[derive(Serialize)]
pub struct Ring {
    pub kvstore: KvStore,
}

#[derive(Serialize)]
pub struct KvStore {
    pub store: &'static str,
}

impl Ring {
    /// Rings gossip over memberlist: no Consul or etcd to run.
    pub fn memberlist() -> Ring {
        Ring { kvstore: KvStore { store: "memberlist" } }
    }
}
