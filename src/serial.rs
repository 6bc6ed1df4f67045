//! Text from typed values: obsc's one YAML style and its one JSON style.
//!
//! Renderers use it for component config files (Loki, Tempo, Grafana provisioning...), the
//! emitter for objects: both sides of the plan write with the same settings, so a config file
//! and the ConfigMap that carries it can never differ in style.

use serde::Serialize;
use serde_saphyr::SerializerOptions;

/// A value that could not be written as text. Typed values obsc builds always can be; this is a
/// bug if it ever shows, and the caller says so with the value's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialError(pub String);

impl std::fmt::Display for SerialError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The YAML text of a value.
pub fn yaml<T: Serialize>(value: &T) -> Result<String, SerialError> {
    let mut options = SerializerOptions::default();
    // Long one-line strings (JMESPath, URLs) stay on one line instead of being folded.
    options.folded_wrap_chars = usize::MAX / 2;
    serde_saphyr::to_string_with_options(value, options).map_err(|e| SerialError(e.to_string()))
}

/// Pretty JSON with a final newline (dashboards).
pub fn json<T: Serialize>(value: &T) -> Result<String, SerialError> {
    serde_json::to_string_pretty(value).map(|text| text + "\n").map_err(|e| SerialError(e.to_string()))
}
