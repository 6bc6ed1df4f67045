//! Graph: the platform drawn from the topology, as Mermaid or Graphviz.
//!
//! One [`Graph`] is built from the model (groups of nodes and the edges between them), then
//! printed by either writer; both are deterministic because the model's maps are ordered.

use std::fmt::Write as _;

use crate::model::Platform;
use crate::names::{Backend, Signal};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Box,
    Store,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub label: String,
    pub shape: Shape,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub label: String,
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub label: String,
    /// Dashed: a Phase 1+ addition to the original logs-only platform.
    pub dashed: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub groups: Vec<Group>,
    pub edges: Vec<Edge>,
}

/// A Mermaid/Graphviz identifier from any name.
fn id(parts: &[&str]) -> String {
    parts.join("_").chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

impl Graph {
    pub fn of(platform: &Platform) -> Graph {
        let mut graph = Graph::default();
        for (env_name, env) in &platform.environments {
            let apps: Vec<Node> = platform
                .namespaces_of(env_name)
                .map(|(name, _)| Node {
                    id: id(&["ns", name]),
                    label: format!("{name}<br/>collector"),
                    shape: Shape::Box,
                })
                .collect();
            if !apps.is_empty() {
                graph.groups.push(Group {
                    id: id(&["apps", env_name]),
                    label: format!("managed namespaces: {env_name}"),
                    nodes: apps,
                });
            }
            let backends: Vec<Node> = [Backend::Loki, Backend::Tempo, Backend::Mimir, Backend::Pyroscope]
                .into_iter()
                .filter(|b| env.has(*b))
                .map(|b| Node {
                    id: id(&[b.as_str(), env_name]),
                    label: format!("{} {}", b.title(), b.instance(env_name)),
                    shape: Shape::Box,
                })
                .collect();
            graph.groups.push(Group {
                id: id(&["env", env_name]),
                label: format!("{} (environment {env_name})", env.monitoring_namespace),
                nodes: backends,
            });
            for (ns_name, ns) in platform.namespaces_of(env_name) {
                let signals = ns.signals(env);
                for signal in Signal::ALL {
                    if signals.sends(signal) && env.has(signal.backend()) {
                        graph.edges.push(Edge {
                            from: id(&["ns", ns_name]),
                            to: id(&[signal.backend().as_str(), env_name]),
                            label: signal.as_str().to_string(),
                            dashed: signal != Signal::Logs,
                        });
                    }
                }
                if signals.faro {
                    graph.edges.push(Edge {
                        from: id(&["ns", ns_name]),
                        to: id(&["loki", env_name]),
                        label: "faro".to_string(),
                        dashed: true,
                    });
                }
            }
            for backend in [Backend::Loki, Backend::Tempo, Backend::Mimir, Backend::Pyroscope] {
                if env.has(backend) {
                    graph.edges.push(Edge {
                        from: id(&[backend.as_str(), env_name]),
                        to: id(&["storage", &env.storage]),
                        label: "S3".to_string(),
                        dashed: backend != Backend::Loki,
                    });
                }
            }
        }
        for (name, g) in &platform.grafana {
            let node = id(&["grafana", name]);
            graph.groups.push(Group {
                id: id(&["grafana_group", name]),
                label: format!("{} (Grafana {name})", g.namespace),
                nodes: vec![Node { id: node.clone(), label: format!("Grafana {name}"), shape: Shape::Box }],
            });
            for (env_name, env) in platform.environments.iter().filter(|(e, _)| g.environments.contains(e)) {
                for backend in [Backend::Loki, Backend::Tempo, Backend::Mimir, Backend::Pyroscope] {
                    if env.has(backend) {
                        graph.edges.push(Edge {
                            from: node.clone(),
                            to: id(&[backend.as_str(), env_name]),
                            label: "queries".to_string(),
                            dashed: false,
                        });
                    }
                }
            }
        }
        let mut by_namespace: std::collections::BTreeMap<&str, Vec<Node>> = Default::default();
        for (name, storage) in &platform.storage {
            by_namespace.entry(&storage.namespace).or_default().push(Node {
                id: id(&["storage", name]),
                label: format!("{name}<br/>{}", if storage.ha { "HA" } else { "single" }),
                shape: Shape::Store,
            });
        }
        for (namespace, nodes) in by_namespace {
            graph.groups.push(Group { id: id(&["tools", namespace]), label: namespace.to_string(), nodes });
        }
        graph
    }

    /// The graph with the monitoring edges: the cluster's monitoring stack of each target that
    /// scrapes, and what it scrapes (`crate::facts::scrape`).
    pub fn with_monitoring(mut self, platform: &Platform) -> Graph {
        use crate::facts::scrape::{self, Component};
        let mut stacks: std::collections::BTreeMap<String, Vec<Node>> = Default::default();
        let mut edges = std::collections::BTreeSet::new();
        for s in scrape::of_platform(platform) {
            let Some(target) = platform.targets.get(&s.target) else { continue };
            let stack = id(&["scraper", &target.scrape.namespace]);
            let nodes = stacks.entry(target.scrape.namespace.clone()).or_default();
            if nodes.is_empty() {
                nodes.push(Node { id: stack.clone(), label: "monitoring stack".to_string(), shape: Shape::Box });
            }
            let to = match &s.component {
                Component::Collector => id(&["ns", &s.namespace]),
                Component::Backend(b, env) => id(&[b.as_str(), env]),
                Component::Grafana(name) => id(&["grafana", name]),
                Component::Storage(name) => id(&["storage", name]),
            };
            edges.insert((stack, to));
        }
        for (namespace, nodes) in stacks {
            self.groups.push(Group { id: id(&["scraping", &namespace]), label: namespace, nodes });
        }
        for (from, to) in edges {
            self.edges.push(Edge { from, to, label: "scrapes".to_string(), dashed: true });
        }
        self
    }

    pub fn mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for group in &self.groups {
            let _ = writeln!(out, "  subgraph {}[\"{}\"]", group.id, escape_mermaid(&group.label));
            for node in &group.nodes {
                let label = escape_mermaid(&node.label);
                match node.shape {
                    Shape::Box => {
                        let _ = writeln!(out, "    {}[\"{label}\"]", node.id);
                    }
                    Shape::Store => {
                        let _ = writeln!(out, "    {}[(\"{label}\")]", node.id);
                    }
                }
            }
            out.push_str("  end\n");
        }
        for edge in &self.edges {
            let arrow = if edge.dashed { "-.->" } else { "-->" };
            let _ = writeln!(out, "  {} {arrow}|{}| {}", edge.from, escape_mermaid(&edge.label), edge.to);
        }
        out
    }

    pub fn dot(&self) -> String {
        let mut out = String::from("digraph platform {\n  rankdir=LR;\n  node [shape=box];\n");
        for group in &self.groups {
            let _ = writeln!(out, "  subgraph cluster_{} {{\n    label=\"{}\";", group.id, escape_dot(&group.label));
            for node in &group.nodes {
                let shape = match node.shape {
                    Shape::Box => "box",
                    Shape::Store => "cylinder",
                };
                let label = escape_dot(&node.label.replace("<br/>", "\n"));
                let _ = writeln!(out, "    {} [label=\"{label}\", shape={shape}];", node.id);
            }
            out.push_str("  }\n");
        }
        for edge in &self.edges {
            let style = if edge.dashed { ", style=dashed" } else { "" };
            let _ = writeln!(out, "  {} -> {} [label=\"{}\"{style}];", edge.from, edge.to, escape_dot(&edge.label));
        }
        out.push_str("}\n");
        out
    }
}

fn escape_mermaid(s: &str) -> String {
    s.replace('"', "#quot;")
}

fn escape_dot(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
