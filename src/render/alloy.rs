//! A typed writer for Alloy's configuration syntax.
//!
//! Configs are built as values ([`Block`], [`Value`]) and printed here, so quoting, escaping
//! and layout are decided in one place and no config is ever a string template with holes.
//! Syntax: grafana/alloy docs/sources/get-started/syntax.md.

use std::fmt::Write as _;

/// An attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Int(i64),
    Bool(bool),
    List(Vec<Value>),
    /// An object literal `{ key = value, }`; keys are written as identifiers when they can be,
    /// quoted otherwise.
    Object(Vec<(String, Value)>),
    /// A reference to another component's export: `loki.write.default.receiver`.
    Ref(Reference),
}

/// `component.label.export`, e.g. `discovery.kubernetes.pods.targets`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub component: &'static str,
    pub label: String,
    pub export: &'static str,
}

impl Reference {
    pub fn new(component: &'static str, label: &str, export: &'static str) -> Self {
        Reference { component, label: label.to_string(), export }
    }
}

pub fn string(s: impl Into<String>) -> Value {
    Value::String(s.into())
}

pub fn strings<I, S>(items: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Value::List(items.into_iter().map(|s| Value::String(s.into())).collect())
}

pub fn refs(items: Vec<Reference>) -> Value {
    Value::List(items.into_iter().map(Value::Ref).collect())
}

/// A component or nested block: `name "label" { body }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub name: &'static str,
    pub label: Option<String>,
    pub body: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    Attribute(&'static str, Value),
    Block(Block),
}

impl Block {
    /// A component instance such as `loki.write "default" { ... }`.
    pub fn component(name: &'static str, label: &str) -> Self {
        Block { name, label: Some(label.to_string()), body: Vec::new() }
    }

    /// An unlabelled nested block such as `endpoint { ... }`.
    pub fn nested(name: &'static str) -> Self {
        Block { name, label: None, body: Vec::new() }
    }

    pub fn attr(mut self, name: &'static str, value: Value) -> Self {
        self.body.push(Statement::Attribute(name, value));
        self
    }

    pub fn block(mut self, block: Block) -> Self {
        self.body.push(Statement::Block(block));
        self
    }

    /// This component's export, for another component to reference.
    pub fn export(&self, export: &'static str) -> Reference {
        Reference { component: self.name, label: self.label.clone().unwrap_or_default(), export }
    }
}

/// A whole config file: components separated by blank lines, with a header comment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub header: Vec<String>,
    pub components: Vec<Block>,
}

impl Config {
    pub fn push(&mut self, block: Block) {
        self.components.push(block);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            let _ = writeln!(out, "// {line}");
        }
        for (i, block) in self.components.iter().enumerate() {
            if i > 0 || !self.header.is_empty() {
                out.push('\n');
            }
            write_block(&mut out, block, 0);
        }
        out
    }
}

fn is_identifier(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push('\t');
    }
}

fn write_block(out: &mut String, block: &Block, depth: usize) {
    indent(out, depth);
    out.push_str(block.name);
    if let Some(label) = &block.label {
        out.push(' ');
        write_string(out, label);
    }
    if block.body.is_empty() {
        out.push_str(" { }\n");
        return;
    }
    out.push_str(" {\n");
    // Alloy's formatter aligns the `=` of consecutive attributes; do the same so `alloy fmt`
    // leaves the file unchanged.
    let mut i = 0;
    while i < block.body.len() {
        match &block.body[i] {
            Statement::Block(inner) => {
                if i > 0 && matches!(block.body[i - 1], Statement::Attribute(..)) {
                    out.push('\n');
                }
                write_block(out, inner, depth + 1);
                if i + 1 < block.body.len() {
                    out.push('\n');
                }
                i += 1;
            }
            Statement::Attribute(..) => {
                let run_end = block.body[i..]
                    .iter()
                    .position(|s| matches!(s, Statement::Block(_)))
                    .map_or(block.body.len(), |n| i + n);
                let width = block.body[i..run_end]
                    .iter()
                    .map(|s| match s {
                        Statement::Attribute(name, value) if !is_multiline(value) => name.len(),
                        _ => 0,
                    })
                    .max()
                    .unwrap_or(0);
                for statement in &block.body[i..run_end] {
                    if let Statement::Attribute(name, value) = statement {
                        indent(out, depth + 1);
                        out.push_str(name);
                        let pad = if is_multiline(value) { 0 } else { width - name.len() };
                        for _ in 0..pad {
                            out.push(' ');
                        }
                        out.push_str(" = ");
                        write_value(out, value, depth + 1);
                        out.push('\n');
                    }
                }
                i = run_end;
            }
        }
    }
    indent(out, depth);
    out.push_str("}\n");
}

fn is_multiline(value: &Value) -> bool {
    matches!(value, Value::Object(fields) if !fields.is_empty())
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::String(s) => write_string(out, s),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item, depth);
            }
            out.push(']');
        }
        Value::Object(fields) if fields.is_empty() => out.push_str("{}"),
        Value::Object(fields) => {
            out.push_str("{\n");
            let width = fields.iter().map(|(k, _)| key_text(k).len()).max().unwrap_or(0);
            for (key, item) in fields {
                indent(out, depth + 1);
                let key = key_text(key);
                out.push_str(&key);
                for _ in 0..width - key.len() {
                    out.push(' ');
                }
                out.push_str(" = ");
                write_value(out, item, depth + 1);
                out.push_str(",\n");
            }
            indent(out, depth);
            out.push('}');
        }
        Value::Ref(r) => {
            let _ = write!(out, "{}.{}.{}", r.component, r.label, r.export);
        }
    }
}

fn key_text(key: &str) -> String {
    if is_identifier(key) {
        key.to_string()
    } else {
        let mut s = String::new();
        write_string(&mut s, key);
        s
    }
}

/// A double-quoted string with Go-style escapes, as Alloy reads them.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_strings() {
        let mut s = String::new();
        write_string(&mut s, "a\"b\\c\nd\u{1}");
        assert_eq!(s, r#""a\"b\\c\nd\u0001""#);
    }

    #[test]
    fn renders_nested_blocks_aligned() {
        let write = Block::component("loki.write", "default")
            .block(Block::nested("endpoint").attr("url", string("http://loki:3100/loki/api/v1/push")));
        let source = Block::component("loki.source.kubernetes", "pods")
            .attr("targets", Value::Ref(Reference::new("discovery.relabel", "pods", "output")))
            .attr("forward_to", refs(vec![write.export("receiver")]));
        let mut config = Config { header: vec!["generated".into()], components: vec![] };
        config.push(source);
        config.push(write);
        assert_eq!(
            config.render(),
            "// generated\n\nloki.source.kubernetes \"pods\" {\n\ttargets    = discovery.relabel.pods.output\n\tforward_to = [loki.write.default.receiver]\n}\n\nloki.write \"default\" {\n\tendpoint {\n\t\turl = \"http://loki:3100/loki/api/v1/push\"\n\t}\n}\n"
        );
    }

    #[test]
    fn renders_objects_with_trailing_commas() {
        let block = Block::component("loki.write", "x").attr(
            "external_labels",
            Value::Object(vec![("environment".into(), string("prod")), ("k8s-cluster".into(), string("a"))]),
        );
        let mut config = Config::default();
        config.push(block);
        assert_eq!(
            config.render(),
            "loki.write \"x\" {\n\texternal_labels = {\n\t\tenvironment   = \"prod\",\n\t\t\"k8s-cluster\" = \"a\",\n\t}\n}\n"
        );
    }
}
