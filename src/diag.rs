//! Diagnostics: what obsc says about a bad input, and where.
//!
//! Every stage reports problems as [`Diagnostic`] values; they are rendered in one place
//! ([`Diagnostic::render`]) so that every message has the same shape:
//!
//! ```text
//! error: namespace `orders-prod` ships logs to `loki-dev`, which belongs to environment `dev`
//!   --> environments/prod.ncl:14:16
//!    = field: namespaces.orders-prod.ship_to.logs
//!    = help: a namespace ships only to its own environment's backends: use `loki-prod`
//! ```

use std::fmt;

/// A field path as Nickel and Nix write it: `namespaces.orders-dev.environment`, quoting the
/// segments that are not plain identifiers (`targets."my.target"`). The one spelling of a path
/// in every diagnostic.
pub fn field_path(segments: &[&str]) -> String {
    segments.iter().fold(String::new(), |path, segment| join_field(&path, segment))
}

/// `path` with one more segment.
pub fn join_field(path: &str, segment: &str) -> String {
    let plain = segment.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && segment.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\''));
    let segment = if plain { segment.to_string() } else { format!("{segment:?}") };
    if path.is_empty() {
        segment
    } else {
        format!("{path}.{segment}")
    }
}

/// A place in a source file, 1-based.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem with the input (or, for warnings, one thing worth knowing about it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Where the value the message is about was written; `None` only when no source has it
    /// (an empty platform, a file that could not be read).
    pub location: Option<Location>,
    /// The field path of that value, as written in Nickel (`namespaces.orders-prod.environment`).
    pub field: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
    /// Pre-rendered text that replaces the location lines (Nickel's own error reports, which
    /// already show file, line and a source excerpt).
    pub report: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            location: None,
            field: None,
            help: None,
            report: None,
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(message) }
    }

    pub fn at(mut self, location: Option<Location>, field: impl Into<String>) -> Self {
        self.location = location;
        self.field = Some(field.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The text a user sees, ending in a newline.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let word = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        // A message or help may quote a value with line breaks: its lines stay indented, so
        // that every diagnostic keeps its shape (only its first line starts at the margin).
        out.push_str(&format!("{word}: {}\n", self.message.replace('\n', "\n  ")));
        if let Some(report) = &self.report {
            for line in report.trim_end().lines() {
                out.push_str("  ");
                out.push_str(line);
                out.push('\n');
            }
        }
        if let Some(location) = &self.location {
            out.push_str(&format!("  --> {location}\n"));
        }
        if let Some(field) = self.field.as_ref().filter(|f| !f.is_empty()) {
            out.push_str(&format!("   = field: {field}\n"));
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("   = help: {}\n", help.replace('\n', "\n     ")));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// Everything wrong with an input, reported together.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| !d.is_error())
    }

    /// Stable order: by file and line, then message, so output does not depend on map order.
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| {
            (a.severity, &a.location, &a.field, &a.message).cmp(&(b.severity, &b.location, &b.field, &b.message))
        });
        self.0.dedup();
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.0 {
            out.push_str(&d.render());
        }
        let errors = self.errors().count();
        if errors > 0 {
            let plural = if errors == 1 { "" } else { "s" };
            out.push_str(&format!("{errors} error{plural}\n"));
        }
        out
    }
}

impl std::error::Error for Diagnostics {}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_with_line_breaks_keeps_the_diagnostic_in_shape() {
        let at = Location { file: "modules/storage.ncl".into(), line: 47, column: 9 };
        let d = Diagnostic::error("replication `a\nb` is not a code")
            .at(Some(at), "storage.x.replication")
            .help("not\nthis");
        assert_eq!(
            d.render(),
            "error: replication `a\n  b` is not a code\n  --> modules/storage.ncl:47:9\n   = field: storage.x.replication\n   = help: not\n     this\n"
        );
    }
}
