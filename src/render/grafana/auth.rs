//! Keycloak single sign-on through Grafana's generic OAuth: the endpoints derived from the realm
//! URL, the client secret from a Secret, and the role mapping compiled into the JMESPath Grafana
//! evaluates against the user's token.
//! Keys: grafana/grafana docs/sources/setup-grafana/configure-security/configure-authentication/keycloak/index.md;
//! automatic login: the generic OAuth page of the same docs (v13.2, "Configure automatic login"),
//! `auto_login` in `[auth.generic_oauth]`.

use k8s_openapi::api::core::v1::EnvVar;

use crate::model::Keycloak;
use crate::render::workload::{env, secret_env};
use crate::secrets;

/// The role mapping as Grafana's JMESPath: the first matching Keycloak realm role wins, the
/// default role (if any) last. Role names cannot hold `'` or `\` (the contract says so).
pub fn role_attribute_path(keycloak: &Keycloak) -> String {
    let mut parts: Vec<String> = keycloak
        .role_mapping
        .iter()
        .map(|m| format!("contains(realm_access.roles[*], '{}') && '{}'", m.keycloak_role, m.grafana_role.as_str()))
        .collect();
    if let Some(default) = keycloak.default_role {
        parts.push(format!("'{}'", default.as_str()));
    }
    parts.join(" || ")
}

fn oidc_url(keycloak: &Keycloak, endpoint: &str) -> String {
    format!("{}/protocol/openid-connect/{endpoint}", keycloak.realm_url.trim_end_matches('/'))
}

/// Grafana's environment for Keycloak SSO; the login form and basic auth are off.
pub fn environment(kc: &Keycloak) -> Vec<EnvVar> {
    let mut out = vec![
        env("GF_AUTH_DISABLE_LOGIN_FORM", "true"),
        env("GF_AUTH_BASIC_ENABLED", "false"),
        env("GF_AUTH_GENERIC_OAUTH_ENABLED", "true"),
        // Straight to Keycloak, no login page. The provider's own key: `[auth] oauth_auto_login`
        // is deprecated and logs a warning at every start (grafana/grafana pkg/setting/setting.go,
        // "[Deprecated] The oauth_auto_login configuration setting is deprecated").
        env("GF_AUTH_GENERIC_OAUTH_AUTO_LOGIN", "true"),
        env("GF_AUTH_GENERIC_OAUTH_NAME", "Keycloak"),
        env("GF_AUTH_GENERIC_OAUTH_ALLOW_SIGN_UP", "true"),
        env("GF_AUTH_GENERIC_OAUTH_USE_PKCE", "true"),
        env("GF_AUTH_GENERIC_OAUTH_CLIENT_ID", &kc.client_id),
        secret_env("GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET", &kc.client_secret_secret, secrets::CLIENT_SECRET),
        env("GF_AUTH_GENERIC_OAUTH_SCOPES", &kc.scopes.join(" ")),
        env("GF_AUTH_GENERIC_OAUTH_AUTH_URL", &oidc_url(kc, "auth")),
        env("GF_AUTH_GENERIC_OAUTH_TOKEN_URL", &oidc_url(kc, "token")),
        env("GF_AUTH_GENERIC_OAUTH_API_URL", &oidc_url(kc, "userinfo")),
    ];
    let path = role_attribute_path(kc);
    if !path.is_empty() {
        out.push(env("GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH", &path));
    }
    out.push(env("GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_STRICT", if kc.strict { "true" } else { "false" }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{GrafanaRole, RoleMapping};

    fn keycloak(mapping: &[(&str, GrafanaRole)], default: Option<GrafanaRole>) -> Keycloak {
        Keycloak {
            realm_url: "https://sso.example.org/realms/platform".to_string(),
            endpoint: crate::model::Endpoint::Outside(crate::model::Outside {
                host: "sso.example.org".to_string(),
                port: 443,
                cidr: Some("203.0.113.0/24".to_string()),
            }),
            client_id: "grafana".to_string(),
            client_secret_secret: "grafana-oauth".to_string(),
            scopes: vec!["openid".to_string()],
            role_mapping: mapping
                .iter()
                .map(|(k, g)| RoleMapping { keycloak_role: k.to_string(), grafana_role: *g })
                .collect(),
            default_role: default,
            strict: false,
        }
    }

    #[test]
    fn the_role_mapping_compiles_to_jmespath_in_priority_order() {
        let k = keycloak(
            &[("platform-admin", GrafanaRole::Admin), ("developer", GrafanaRole::Editor)],
            Some(GrafanaRole::Viewer),
        );
        assert_eq!(
            role_attribute_path(&k),
            "contains(realm_access.roles[*], 'platform-admin') && 'Admin' || \
             contains(realm_access.roles[*], 'developer') && 'Editor' || 'Viewer'"
        );
        assert_eq!(role_attribute_path(&keycloak(&[], Some(GrafanaRole::Viewer))), "'Viewer'");
        assert_eq!(
            role_attribute_path(&keycloak(&[("ops", GrafanaRole::Editor)], None)),
            "contains(realm_access.roles[*], 'ops') && 'Editor'"
        );
        assert_eq!(role_attribute_path(&keycloak(&[], None)), "");
    }

    #[test]
    fn automatic_login_is_the_providers_own_key() {
        let env = environment(&keycloak(&[], None));
        let value = |name: &str| env.iter().find(|e| e.name == name).and_then(|e| e.value.clone());
        assert_eq!(value("GF_AUTH_GENERIC_OAUTH_AUTO_LOGIN").as_deref(), Some("true"));
        assert!(env.iter().all(|e| e.name != "GF_AUTH_OAUTH_AUTO_LOGIN"), "the deprecated key is gone");
    }

    #[test]
    fn endpoints_come_from_the_realm_url() {
        let k = keycloak(&[], None);
        assert_eq!(oidc_url(&k, "token"), "https://sso.example.org/realms/platform/protocol/openid-connect/token");
    }
}
