//! No secret value in the topology: obsc carries only the names of Secrets.
//!
//! Two rules over every string value the platform holds: a field whose name says it holds a
//! secret (`password`, `secret`, `token`, `key`...) must hold the name of a Secret (a DNS-1123
//! label); and no value may look like a credential (a JSON Web Token, a GitHub, GitLab, Slack or
//! AWS key, a long base64 or hex blob). Diagnostics never repeat the value.

use super::Checker;
use crate::names::is_dns_label;

/// Words of a field name that say the field holds a secret.
const SECRET_WORDS: &[&str] = &["password", "passwd", "secret", "token", "key", "apikey", "credentials"];

pub(super) fn check(c: &mut Checker) {
    let strings = c.sources.strings.clone();
    for (path, value) in &strings {
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        let field = path.iter().rev().find(|s| s.parse::<usize>().is_err()).map(String::as_str).unwrap_or("");
        if names_a_secret(field) && !is_dns_label(value) {
            c.error(
                &refs,
                format!("`{field}` must name a Secret, but its value is not a Secret name (it may be an inline secret)"),
                "create a Secret in the cluster (see `obsc secrets <target>`) and write its name here; obsc never carries secret values",
            );
        } else if let Some(kind) = credential_shape(value) {
            c.error(
                &refs,
                format!("a value that looks like {kind} is written inline"),
                "secret values never belong in the topology: put it in a Secret and refer to the Secret by name",
            );
        }
    }
}

/// Whether a field name says "secret": one of its `_`/`-` separated words is a secret word.
pub fn names_a_secret(field: &str) -> bool {
    field.to_ascii_lowercase().split(['_', '-']).any(|w| SECRET_WORDS.contains(&w))
}

/// What kind of credential a string looks like, if any.
pub fn credential_shape(value: &str) -> Option<&'static str> {
    for word in value.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';' | '(' | ')' | '<' | '>'))
    {
        if let Some(kind) = word_shape(word) {
            return Some(kind);
        }
    }
    None
}

fn word_shape(word: &str) -> Option<&'static str> {
    let word = word.trim_matches(|c: char| matches!(c, '.' | ':' | '[' | ']' | '{' | '}'));
    let url_safe = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if let Some(rest) = word.strip_prefix("eyJ") {
        let parts: Vec<&str> = rest.split('.').collect();
        if parts.len() >= 2 && parts.iter().all(|p| p.chars().all(url_safe)) && rest.len() >= 16 {
            return Some("a JSON Web Token");
        }
    }
    for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "sk-"] {
        if let Some(rest) = word.strip_prefix(prefix) {
            if rest.len() >= 16 && rest.chars().all(url_safe) {
                return Some("an API token");
            }
        }
    }
    if word.len() == 20
        && word.starts_with("AKIA")
        && word.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Some("an AWS access key");
    }
    if word.len() > 32 {
        if word.chars().all(|c| c.is_ascii_hexdigit()) && word.chars().any(|c| c.is_ascii_digit()) {
            return Some("a long hexadecimal secret");
        }
        let base64 = word.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
            || word.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '='));
        let mixed = word.chars().any(|c| c.is_ascii_uppercase())
            && word.chars().any(|c| c.is_ascii_lowercase())
            && word.chars().any(|c| c.is_ascii_digit());
        if base64 && mixed {
            return Some("a long base64 secret");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_field_names() {
        assert!(names_a_secret("credentials_secret"));
        assert!(names_a_secret("token_secret"));
        assert!(names_a_secret("password"));
        assert!(names_a_secret("api-key"));
        assert!(!names_a_secret("keycloak_role"));
        assert!(!names_a_secret("monkey"));
    }

    #[test]
    fn credential_shapes() {
        assert_eq!(credential_shape("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl"), Some("a JSON Web Token"));
        assert_eq!(credential_shape("token ghp_abcdefghijklmnop1234"), Some("an API token"));
        assert_eq!(credential_shape("AKIAIOSFODNN7EXAMPLE"), Some("an AWS access key"));
        assert_eq!(credential_shape("0123456789abcdef0123456789abcdef01"), Some("a long hexadecimal secret"));
        assert_eq!(credential_shape("dGhpcyBpcyBhIHNlY3JldCB2YWx1ZSAxMjM0NQ=="), Some("a long base64 secret"));
        for fine in [
            "https://thanos-querier.openshift-monitoring.svc:9092",
            "https://sso.example.org/realms/ca7f8f/protocol/openid-connect",
            "ca7f8f-partner-portal-integrations-prod",
            "Logs a partner team must keep for 90 days.",
            "contains(realm_access.roles[*], 'admin') && 'Admin'",
        ] {
            assert_eq!(credential_shape(fine), None, "{fine}");
        }
    }
}
