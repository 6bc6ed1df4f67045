//! Pins: the container images obsc renders, read from `nix/pins.nix`.
//!
//! The flake imports the same file, so Nix and obsc cannot disagree about an image. The file is
//! plain data, read by [`crate::nixdata`] without evaluating it; this module is its schema:
//! `images.<name> = { repository; tag; digest; validator?; }`, each value checked where it is
//! written.
//!
//! `validator = { package; version; accept_minor_skew?; }` records the nixpkgs package that
//! `nix flake check` validates the image's configs with (`grafana-alloy` for the collector). A
//! validator of another minor version than the image proves little, so the flake fails on such a
//! skew unless `accept_minor_skew` says why it is harmless, and fails when nixpkgs' version is not
//! the recorded one (nix/validators.nix). obsc cannot ask nixpkgs offline; [`Validator::skew`]
//! applies the same rule to the recorded version, and `obsc pins` shows it.

use std::collections::BTreeMap;
use std::path::Path;

use crate::diag::{field_path, Diagnostic, Diagnostics};
use crate::nixdata::{error_at, finish, read_plain_data, Binding, Data, Value};

/// Where the pins file lives, relative to the project root.
pub const DEFAULT_PINS: &str = "nix/pins.nix";

/// One container image, pinned by digest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImagePin {
    /// Registry and path, without tag or digest: `docker.io/grafana/alloy`.
    pub repository: String,
    /// The release the digest belongs to: `v1.18.1`.
    pub tag: String,
    /// The multi-arch index digest: `sha256:` and 64 lowercase hex digits.
    pub digest: String,
    /// The nixpkgs package the flake validates this image's configs with, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validator: Option<Validator>,
}

/// The nixpkgs package that `nix flake check` validates an image's configs with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Validator {
    /// The attribute of nixpkgs: `grafana-alloy`.
    pub package: String,
    /// The version nixpkgs has of it, as `pkgs.<package>.version` gives it; the flake fails when
    /// nixpkgs has another.
    pub version: String,
    /// Why a validator of another minor version than the image is good enough, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_minor_skew: Option<String>,
}

/// The major and minor numbers of a version, as written (`1`, `18`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MajorMinor {
    pub major: String,
    pub minor: String,
}

impl MajorMinor {
    /// The first two numbers of a version or an image tag, as Nix's `builtins.splitVersion` splits
    /// it, after a leading `v` component (`v1.18.1`); `None` when it does not start with two
    /// numbers. nix/validators.nix does the same; tests/nix.rs compares the two.
    pub fn of(version: &str) -> Option<MajorMinor> {
        let parts = split_version(version);
        let numbers = match parts.first() {
            Some(&"v") => &parts[1..],
            _ => &parts[..],
        };
        let is_number = |part: &&str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        match numbers {
            [major, minor, ..] if is_number(major) && is_number(minor) => {
                Some(MajorMinor { major: major.to_string(), minor: minor.to_string() })
            }
            _ => None,
        }
    }

    fn same_major(&self, other: &MajorMinor) -> bool {
        same_number(&self.major, &other.major)
    }

    fn same_minor(&self, other: &MajorMinor) -> bool {
        self.same_major(other) && same_number(&self.minor, &other.minor)
    }
}

impl std::fmt::Display for MajorMinor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Numbers compare as numbers (`07` is `7`), as `builtins.compareVersions` compares them.
fn same_number(a: &str, b: &str) -> bool {
    a.trim_start_matches('0') == b.trim_start_matches('0')
}

/// `builtins.splitVersion`: components are runs of digits or runs of other characters, and `.`
/// and `-` only separate them (`1.31.6-alpine` is `1`, `31`, `6`, `alpine`; `1.2rc1` is `1`, `2`,
/// `rc`, `1`).
pub fn split_version(version: &str) -> Vec<&str> {
    let is_separator = |c: char| c == '.' || c == '-';
    let mut parts = Vec::new();
    let mut rest = version;
    loop {
        rest = rest.trim_start_matches(is_separator);
        let Some(first) = rest.chars().next() else { break };
        let digits = first.is_ascii_digit();
        let end = rest.find(|c: char| is_separator(c) || c.is_ascii_digit() != digits).unwrap_or(rest.len());
        parts.push(&rest[..end]);
        rest = &rest[end..];
    }
    parts
}

/// How an image's version and its validator's compare, and what the flake makes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skew {
    /// The same major and minor version: the validator is fit.
    SameMinor,
    /// The minor versions differ, and the pins say why that is harmless.
    Accepted { reason: String },
    /// The minor versions differ and nothing accepts it: `nix flake check` fails.
    NotAccepted,
    /// The major versions differ: `nix flake check` fails; `accept_minor_skew` cannot cover it.
    MajorDiffers,
    /// `accept_minor_skew` is set though the minor versions agree: `nix flake check` fails until
    /// it is removed, so that a stale reason cannot excuse a later skew.
    NeedlessAcceptance,
}

impl Skew {
    /// Whether the flake's rule holds (for the recorded validator version).
    pub fn holds(&self) -> bool {
        matches!(self, Skew::SameMinor | Skew::Accepted { .. })
    }
}

/// An image's version beside its validator's, as `obsc pins` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkewReport {
    pub image: MajorMinor,
    pub validator: MajorMinor,
    pub skew: Skew,
}

impl Validator {
    /// The rule of nix/validators.nix, for an image with tag `tag`, applied to the recorded
    /// version. `None` when either has no major.minor version (the schema refuses such pins).
    pub fn skew(&self, tag: &str) -> Option<SkewReport> {
        let image = MajorMinor::of(tag)?;
        let validator = MajorMinor::of(&self.version)?;
        let skew = if !image.same_major(&validator) {
            Skew::MajorDiffers
        } else if image.same_minor(&validator) {
            match self.accept_minor_skew {
                Some(_) => Skew::NeedlessAcceptance,
                None => Skew::SameMinor,
            }
        } else {
            match &self.accept_minor_skew {
                Some(reason) => Skew::Accepted { reason: reason.clone() },
                None => Skew::NotAccepted,
            }
        };
        Some(SkewReport { image, validator, skew })
    }
}

impl ImagePin {
    /// The reference a pod spec uses: `repository:tag@digest`. The runtime pulls by digest; the
    /// tag is there for people reading the manifest.
    pub fn reference(&self) -> String {
        format!("{}:{}@{}", self.repository, self.tag, self.digest)
    }

    /// The release the image is, from its tag: the tag without a leading `v` (`1.18.1`).
    pub fn version(&self) -> &str {
        match self.tag.strip_prefix('v') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
            _ => &self.tag,
        }
    }

    /// The image's version beside its validator's; `None` without a validator.
    pub fn validator_skew(&self) -> Option<SkewReport> {
        self.validator.as_ref().and_then(|validator| validator.skew(&self.tag))
    }

    /// What `obsc pins` says of the image's version and its validator: the lines, and whether
    /// the flake's version rule holds for the recorded validator version.
    pub fn validation_lines(&self) -> (Vec<String>, bool) {
        let version = self.version();
        let (Some(validator), Some(report)) = (&self.validator, self.validator_skew()) else {
            return (vec![format!("version {version}; no validator in the flake")], true);
        };
        let SkewReport { image, validator: checks, skew } = &report;
        let package = &validator.package;
        let first = format!("version {version}; validated by nixpkgs {package} {}", validator.version);
        let second = match skew {
            Skew::SameMinor => format!("same minor version {image}"),
            Skew::Accepted { reason } => {
                format!("SKEW: minor versions differ (image {image}, validator {checks}), accepted: {reason}")
            }
            Skew::NotAccepted => format!(
                "SKEW: minor versions differ (image {image}, validator {checks}) and nothing accepts it, so \
                 `nix flake check` fails: validate with a {package} of {image}, or say why the skew is harmless \
                 in `accept_minor_skew`"
            ),
            Skew::MajorDiffers => format!(
                "SKEW: major versions differ (image {image}, validator {checks}), so `nix flake check` fails \
                 (`accept_minor_skew` cannot accept that): validate with a {package} of {}.x or drop the validator",
                image.major
            ),
            Skew::NeedlessAcceptance => format!(
                "`accept_minor_skew` is set though the minor versions agree ({image}), so `nix flake check` \
                 fails until it is removed"
            ),
        };
        (vec![first, second], skew.holds())
    }
}

/// Every pinned image, by short name (`alloy`, `loki`, `k8s-sidecar`, ...).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Pins {
    pub images: BTreeMap<String, ImagePin>,
}

impl Pins {
    /// Reads and checks a pins file.
    pub fn read(path: &Path) -> Result<Pins, Diagnostics> {
        let file_name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(source) => Pins::parse(&source, &file_name),
            Err(err) => {
                Err(Diagnostics(vec![Diagnostic::error(format!("cannot read the pins file `{file_name}`: {err}"))
                    .help(format!(
                        "obsc reads image pins from `{DEFAULT_PINS}` under the project root; run it from there"
                    ))]))
            }
        }
    }

    /// Checks the text of a pins file; `file_name` is only used in diagnostics.
    pub fn parse(source: &str, file_name: &str) -> Result<Pins, Diagnostics> {
        let (data, mut diagnostics) = read_plain_data(source, file_name);
        let pins = data.map(|data| pins_from_data(&data, &mut diagnostics));
        finish(pins, diagnostics)
    }

    pub fn image(&self, name: &str) -> Option<&ImagePin> {
        self.images.get(name)
    }
}

// ---------------------------------------------------------------------------------------------
// The pins schema.

const IMAGE_FIELDS: [&str; 4] = ["repository", "tag", "digest", "validator"];
const VALIDATOR_FIELDS: [&str; 3] = ["package", "version", "accept_minor_skew"];

fn pins_from_data(root: &Data, diagnostics: &mut Diagnostics) -> Pins {
    let mut images = BTreeMap::new();
    let Value::Set(top) = &root.value else {
        if root.value.is_invalid() {
            return Pins { images };
        }
        diagnostics.push(
            error_at(&root.at, "", format!("the pins file must be an attribute set, found {}", root.value.kind()))
                .help(
                "write `{ images = { alloy = { repository = \"...\"; tag = \"...\"; digest = \"sha256:...\"; }; }; }`",
            ),
        );
        return Pins { images };
    };
    for (name, binding) in top {
        if name != "images" {
            diagnostics.push(
                error_at(
                    &binding.name_at,
                    &field_path(&[name]),
                    format!("unknown attribute `{name}` in the pins file"),
                )
                .help(format!("the pins file holds only `images`; remove `{name}` or move it under `images`")),
            );
        }
    }
    let Some(image_set) = top.get("images") else {
        diagnostics
            .push(error_at(&root.at, "images", "the pins file has no `images`").help(
                "add `images = { alloy = { repository = \"...\"; tag = \"...\"; digest = \"sha256:...\"; }; };`",
            ));
        return Pins { images };
    };
    let Value::Set(entries) = &image_set.data.value else {
        if image_set.data.value.is_invalid() {
            return Pins { images };
        }
        diagnostics.push(
            error_at(
                &image_set.data.at,
                "images",
                format!("`images` must be an attribute set of images, found {}", image_set.data.value.kind()),
            )
            .help("write `images = { alloy = { repository = \"...\"; tag = \"...\"; digest = \"sha256:...\"; }; };`"),
        );
        return Pins { images };
    };
    for (name, binding) in entries {
        if let Some(pin) = image_from_data(name, &binding.data, diagnostics) {
            images.insert(name.clone(), pin);
        }
    }
    Pins { images }
}

/// The fields of an attribute set that may hold only `known` names. A value of another kind, or
/// a name not known, is reported where it is written. `what`: how messages name the set as a
/// subject and after "in".
fn record<'a>(
    data: &'a Data,
    path: &[&str],
    what: (&str, &str),
    known: &[&str],
    example: &str,
    unknown_help: &str,
    diagnostics: &mut Diagnostics,
) -> Option<&'a BTreeMap<String, Binding>> {
    let Value::Set(fields) = &data.value else {
        if !data.value.is_invalid() {
            diagnostics.push(
                error_at(
                    &data.at,
                    &field_path(path),
                    format!("{} must be an attribute set, found {}", what.0, data.value.kind()),
                )
                .help(example),
            );
        }
        return None;
    };
    for (key, binding) in fields {
        if !known.contains(&key.as_str()) {
            let mut at = path.to_vec();
            at.push(key);
            diagnostics.push(
                error_at(&binding.name_at, &field_path(&at), format!("unknown attribute `{key}` in {}", what.1))
                    .help(unknown_help),
            );
        }
    }
    Some(fields)
}

fn image_from_data(name: &str, data: &Data, diagnostics: &mut Diagnostics) -> Option<ImagePin> {
    let fields = record(
        data,
        &["images", name],
        (&format!("image `{name}`"), &format!("image `{name}`")),
        &IMAGE_FIELDS,
        "write `{ repository = \"...\"; tag = \"...\"; digest = \"sha256:...\"; }`",
        "an image has only `repository`, `tag`, `digest` and `validator`; remove the others",
        diagnostics,
    )?;
    let mut text = |field: &str| -> Option<String> {
        let path = field_path(&["images", name, field]);
        let Some(binding) = fields.get(field) else {
            diagnostics.push(
                error_at(&data.at, &path, format!("image `{name}` has no `{field}`")).help(missing_field_help(field)),
            );
            return None;
        };
        let Value::Str(value) = &binding.data.value else {
            if binding.data.value.is_invalid() {
                return None;
            }
            diagnostics.push(
                error_at(
                    &binding.data.at,
                    &path,
                    format!("`{field}` of image `{name}` must be a string, found {}", binding.data.value.kind()),
                )
                .help(format!("write it as a quoted string: `{field} = \"...\";`")),
            );
            return None;
        };
        let problem = match field {
            "repository" => repository_problem(value),
            "tag" => tag_problem(value),
            _ => digest_problem(value),
        };
        if let Some(problem) = problem {
            diagnostics
                .push(error_at(&binding.data.at, &path, problem.message(name, field)).help(Problem::help(field)));
            return None;
        }
        Some(value.clone())
    };
    // Each field is checked (and reported) even when an earlier one is wrong.
    let (repository, tag, digest) = (text("repository"), text("tag"), text("digest"));
    let validator = match fields.get("validator") {
        None => None,
        Some(binding) => Some(validator_from_data(name, tag.as_deref(), &binding.data, diagnostics)?),
    };
    Some(ImagePin { repository: repository?, tag: tag?, digest: digest?, validator })
}

fn validator_from_data(name: &str, tag: Option<&str>, data: &Data, diagnostics: &mut Diagnostics) -> Option<Validator> {
    let fields = record(
        data,
        &["images", name, "validator"],
        (&format!("`validator` of image `{name}`"), &format!("the validator of image `{name}`")),
        &VALIDATOR_FIELDS,
        "write `validator = { package = \"grafana-alloy\"; version = \"1.16.0\"; };`",
        "a validator has `package`, `version` and, only for an accepted skew, `accept_minor_skew`",
        diagnostics,
    )?;
    let mut text = |field: &str, required: bool| -> Option<String> {
        let path = field_path(&["images", name, "validator", field]);
        let Some(binding) = fields.get(field) else {
            if required {
                diagnostics.push(
                    error_at(&data.at, &path, format!("the validator of image `{name}` has no `{field}`"))
                        .help(missing_validator_field_help(field)),
                );
            }
            return None;
        };
        let value = match &binding.data.value {
            Value::Invalid => return None,
            Value::Str(value) => value,
            other => {
                diagnostics.push(
                    error_at(
                        &binding.data.at,
                        &path,
                        format!(
                            "`{field}` of the validator of image `{name}` must be a string, found {}",
                            other.kind()
                        ),
                    )
                    .help(format!("write it as a quoted string: `{field} = \"...\";`")),
                );
                return None;
            }
        };
        let problem = match field {
            "package" => package_problem(value),
            "version" => validator_version_problem(value),
            _ if value.trim().is_empty() => Some("is empty".to_string()),
            _ => None,
        };
        if let Some(problem) = problem {
            let message = format!("`{field}` of the validator of image `{name}` {problem}");
            diagnostics.push(error_at(&binding.data.at, &path, message).help(validator_field_help(field)));
            return None;
        }
        Some(value.clone())
    };
    let (package, version) = (text("package", true), text("version", true));
    let accept_minor_skew = text("accept_minor_skew", false);
    let acceptance_is_wrong = fields.contains_key("accept_minor_skew") && accept_minor_skew.is_none();
    if let Some(tag) = tag {
        if MajorMinor::of(tag).is_none() {
            diagnostics.push(
                error_at(
                    &data.at,
                    &field_path(&["images", name, "validator"]),
                    format!(
                        "image `{name}` has a validator, but its tag `{tag}` has no major.minor version to compare with the validator's"
                    ),
                )
                .help("pin a tag that starts with the release (`v1.18.1`, `3.7.6`), or remove the validator"),
            );
            return None;
        }
    }
    if acceptance_is_wrong {
        return None;
    }
    Some(Validator { package: package?, version: version?, accept_minor_skew })
}

fn missing_validator_field_help(field: &str) -> &'static str {
    match field {
        "package" => "add the nixpkgs attribute the flake validates this image's configs with, e.g. `package = \"grafana-alloy\";`",
        _ => "add the version nixpkgs has of the package, as `nix eval nixpkgs#<package>.version` prints it, e.g. `version = \"1.16.0\";`; the flake checks it",
    }
}

fn validator_field_help(field: &str) -> &'static str {
    match field {
        "package" => "write the attribute of nixpkgs that provides the validator, e.g. `grafana-alloy`",
        "version" => "record the version nixpkgs has, as `nix eval nixpkgs#<package>.version` prints it, e.g. `1.16.0`",
        _ => "say why a validator of another minor version is good enough here, or remove `accept_minor_skew`",
    }
}

/// A nixpkgs attribute name, as the flake writes `pkgs.${package}`: a Nix identifier.
fn package_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("is empty".to_string());
    }
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\''));
    if !(first_ok && rest_ok) {
        return Some(format!("is `{value}`: not a nixpkgs attribute name"));
    }
    None
}

fn validator_version_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("is empty".to_string());
    }
    if MajorMinor::of(value).is_none() {
        return Some(format!("is `{value}`: it does not start with major and minor version numbers"));
    }
    None
}

fn missing_field_help(field: &str) -> &'static str {
    match field {
        "repository" => "add the registry and path without tag or digest, e.g. `repository = \"docker.io/grafana/alloy\";`",
        "tag" => "add the release the digest belongs to, e.g. `tag = \"v1.18.1\";`",
        _ => "add the image's multi-arch index digest as the registry reports it, `digest = \"sha256:<64 hex digits>\";`; never invent one",
    }
}

/// Why a repository, tag or digest value is not acceptable.
enum Problem {
    Empty,
    Malformed { value: String, reason: String },
}

impl Problem {
    fn malformed(value: &str, reason: impl Into<String>) -> Option<Problem> {
        Some(Problem::Malformed { value: value.to_string(), reason: reason.into() })
    }

    fn message(&self, image: &str, field: &str) -> String {
        match self {
            Problem::Empty => format!("`{field}` of image `{image}` is empty"),
            Problem::Malformed { value, reason } => format!("`{field}` of image `{image}` is `{value}`: {reason}"),
        }
    }

    fn help(field: &str) -> &'static str {
        match field {
            "repository" => "write only the registry and path, e.g. `docker.io/grafana/alloy`; the tag goes in `tag`, the digest in `digest`",
            "tag" => "a tag is up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`, e.g. `v1.18.1`",
            _ => "copy the image's multi-arch index digest as the registry reports it; never invent one",
        }
    }
}

fn repository_problem(value: &str) -> Option<Problem> {
    if value.is_empty() {
        return Some(Problem::Empty);
    }
    if value.contains("://") {
        return Problem::malformed(value, "a repository is not a URL");
    }
    if value.chars().any(char::is_whitespace) {
        return Problem::malformed(value, "a repository has no spaces");
    }
    if value.contains('@') {
        return Problem::malformed(value, "it includes a digest");
    }
    // A colon before the last `/` is a registry port (`localhost:5000/x`); after it, a tag.
    let last_part = value.rsplit('/').next().unwrap_or(value);
    if last_part.contains(':') {
        return Problem::malformed(value, "it includes a tag");
    }
    None
}

fn tag_problem(value: &str) -> Option<Problem> {
    if value.is_empty() {
        return Some(Problem::Empty);
    }
    let valid_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-';
    if value.len() > 128 || value.starts_with(['.', '-']) || !value.chars().all(valid_char) {
        return Problem::malformed(value, "not a valid image tag");
    }
    None
}

fn digest_problem(value: &str) -> Option<Problem> {
    if value.is_empty() {
        return Some(Problem::Empty);
    }
    let expected = "expected `sha256:` followed by 64 lowercase hex digits";
    let Some(hex) = value.strip_prefix("sha256:") else {
        return Problem::malformed(value, format!("{expected}, and it does not start with `sha256:`"));
    };
    let length = hex.chars().count();
    if length != 64 {
        let noun = if length == 1 { "character" } else { "characters" };
        return Problem::malformed(value, format!("{expected}, and it has {length} {noun} after `sha256:`"));
    }
    if hex.chars().any(|c| c.is_ascii_uppercase()) {
        return Problem::malformed(value, format!("{expected}, and it has uppercase letters"));
    }
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Problem::malformed(value, format!("{expected}, and it has characters that are not hex digits"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader's JSON view, as `nix-instantiate --eval --strict --json` prints it.
    fn to_json(source: &str, file_name: &str) -> Result<serde_json::Value, Diagnostics> {
        crate::nixdata::read(source, file_name).map(|d| serde_json::to_value(d).expect("plain data is JSON"))
    }

    const REAL: &str = include_str!("../nix/pins.nix");

    fn errors(source: &str) -> Vec<String> {
        match to_json(source, "pins.nix") {
            Ok(value) => panic!("expected errors, got {value}"),
            Err(diagnostics) => diagnostics.0.iter().map(|d| d.render()).collect(),
        }
    }

    /// The one error for `source`, as `file:line:column field: message`.
    fn error(source: &str) -> String {
        let diagnostics = to_json(source, "pins.nix").expect_err("expected an error").0;
        assert_eq!(diagnostics.len(), 1, "expected one error, got {diagnostics:#?}");
        let d = &diagnostics[0];
        let at = d.location.as_ref().map(ToString::to_string).unwrap_or_default();
        format!("{at} {}: {}", d.field.as_deref().unwrap_or(""), d.message)
    }

    fn pins_error(source: &str) -> String {
        let diagnostics = Pins::parse(source, "pins.nix").expect_err("expected an error").0;
        assert_eq!(diagnostics.len(), 1, "expected one error, got {diagnostics:#?}");
        let d = &diagnostics[0];
        let at = d.location.as_ref().map(ToString::to_string).unwrap_or_default();
        format!("{at} {}: {}", d.field.as_deref().unwrap_or(""), d.message)
    }

    const ALLOY: &str = r#"repository = "docker.io/grafana/alloy"; tag = "v1.18.1"; digest = "sha256:0f4434c92b3e6cdac38bb129b344e1790c246f7b6e2eaffcc16a5fa363240e33";"#;

    #[test]
    fn the_real_pins_file_has_every_image() {
        let pins = Pins::parse(REAL, DEFAULT_PINS).unwrap_or_else(|d| panic!("{d}"));
        let names: Vec<&str> = pins.images.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "alloy",
                "grafana",
                "k8s-sidecar",
                "loki",
                "mimir",
                "nginx-unprivileged",
                "pyroscope",
                "seaweedfs",
                "tempo"
            ]
        );
        assert_eq!(
            pins.image("alloy").map(ImagePin::reference).as_deref(),
            Some("docker.io/grafana/alloy:v1.18.1@sha256:0f4434c92b3e6cdac38bb129b344e1790c246f7b6e2eaffcc16a5fa363240e33")
        );
        assert_eq!(pins.image("k8s-sidecar").map(|p| p.repository.as_str()), Some("quay.io/kiwigrid/k8s-sidecar"));
        assert_eq!(pins.image("nope"), None);
    }

    #[test]
    fn read_reports_a_missing_file() {
        let diagnostics = Pins::read(Path::new("no/such/pins.nix")).unwrap_err();
        assert!(
            diagnostics.0[0].message.starts_with("cannot read the pins file `no/such/pins.nix`: "),
            "{diagnostics}"
        );
    }

    #[test]
    fn dotted_attribute_paths_read_like_nested_sets() {
        let nested = format!("{{ images = {{ alloy = {{ {ALLOY} }}; }}; }}");
        let dotted = r#"{
  images.alloy.repository = "docker.io/grafana/alloy";
  images.alloy = { tag = "v1.18.1"; };
  "images".alloy."digest" = "sha256:0f4434c92b3e6cdac38bb129b344e1790c246f7b6e2eaffcc16a5fa363240e33";
}"#;
        assert_eq!(Pins::parse(dotted, "pins.nix").unwrap(), Pins::parse(&nested, "pins.nix").unwrap());
    }

    #[test]
    fn plain_data_reads_as_nix_evaluates_it() {
        let source = r#"
# a comment
{
  s = "a\"b\\c\n\${x}$${y}";
  m = ''
    two
      lines ''${z} '''
  '';
  i = [ 0 (-7) 007 9223372036854775807 ];
  b = [ true false null ];
  "quoted name" = (1);
  or = { };
  x.y = 1; x = { z = 2; };
}"#;
        let expected = serde_json::json!({
            "s": "a\"b\\c\n${x}$${y}",
            "m": "two\n  lines ${z} ''\n",
            "i": [0, -7, 7, 9223372036854775807i64],
            "b": [true, false, null],
            "quoted name": 1,
            "or": {},
            "x": { "y": 1, "z": 2 },
        });
        assert_eq!(to_json(source, "data.nix").unwrap(), expected);
    }

    #[test]
    fn each_construct_that_is_not_plain_data_is_rejected_where_it_is_written() {
        let cases = [
            ("{ a = x: x; }", "pins.nix:1:7 a: a function is not plain data"),
            ("{ a = { x, ... }: x; }", "pins.nix:1:7 a: a function is not plain data"),
            ("let x = 1; in { a = x; }", "pins.nix:1:1 : `let` is not plain data"),
            ("{ a = with b; c; }", "pins.nix:1:7 a: `with` is not plain data"),
            ("rec { a = 1; }", "pins.nix:1:1 : `rec` is not plain data"),
            ("{ inherit a; }", "pins.nix:1:3 : `inherit` is not plain data"),
            ("{ a = \"x${b}y\"; }", "pins.nix:1:9 a: string interpolation `${...}` is not plain data"),
            ("{ ${b} = 1; }", "pins.nix:1:3 : a computed attribute name `${...}` is not plain data"),
            ("{ a = ./x.nix; }", "pins.nix:1:7 a: the path `./x.nix` is not plain data"),
            ("{ a = <nixpkgs>; }", "pins.nix:1:7 a: the path `<nixpkgs>` is not plain data"),
            ("{ a = b; }", "pins.nix:1:7 a: `b` refers to another value; a reference is not plain data"),
            ("{ a = b.c; }", "pins.nix:1:7 a: selecting an attribute (`b.c`) is not plain data"),
            ("{ a = \"x\" + \"y\"; }", "pins.nix:1:7 a: the operator `+` is not plain data"),
            ("{ a = { } // { }; }", "pins.nix:1:7 a: the operator `//` is not plain data"),
            ("{ a = !true; }", "pins.nix:1:7 a: the operator `!` is not plain data"),
            ("{ a = -(1); }", "pins.nix:1:7 a: the operator `-` is not plain data"),
            ("{ a = import ./x.nix; }", "pins.nix:1:7 a: `import` is not plain data"),
            ("{ a = import ./x.nix { }; }", "pins.nix:1:7 a: `import` is not plain data"),
            ("{ a = f 1; }", "pins.nix:1:7 a: a function call is not plain data"),
            ("{ a = if true then 1 else 2; }", "pins.nix:1:7 a: `if` is not plain data"),
            ("{ a = assert true; 1; }", "pins.nix:1:7 a: `assert` is not plain data"),
            ("{ a = b ? c; }", "pins.nix:1:7 a: the operator `?` is not plain data"),
            (
                "{ a = https://example.com; }",
                "pins.nix:1:7 a: the unquoted URL `https://example.com` is not plain data",
            ),
            ("{ a = 1.5; }", "pins.nix:1:7 a: the floating-point number `1.5` is not supported"),
            (
                "{ a = 9223372036854775808; }",
                "pins.nix:1:7 a: the integer `9223372036854775808` does not fit in 64 bits",
            ),
            ("{ a = 1; a = 2; }", "pins.nix:1:10 a: `a` is defined twice"),
            ("{ a = 1; a.b = 2; }", "pins.nix:1:10 a: `a` is defined twice"),
            ("{ a.b = 1; a = { b = 2; }; }", "pins.nix:1:18 a.b: `a.b` is defined twice"),
        ];
        for (source, expected) in cases {
            assert_eq!(error(source), expected, "for {source}");
        }
    }

    #[test]
    fn every_problem_is_reported_not_only_the_first() {
        let source = "{\n  a = x: x;\n  b = let in 1;\n  c = \"${d}\";\n}";
        let all = errors(source);
        assert_eq!(all.len(), 3, "{all:#?}");
        assert!(all[0].contains("--> pins.nix:2:7\n   = field: a\n"), "{}", all[0]);
        assert!(all[1].contains("--> pins.nix:3:7\n   = field: b\n"), "{}", all[1]);
        assert!(all[2].contains("--> pins.nix:4:8\n   = field: c\n"), "{}", all[2]);
    }

    #[test]
    fn syntax_errors_name_the_place_and_the_attribute() {
        let source = "{\n  images = {\n    alloy = { tag \"v1\"; };\n  };\n}\n";
        let diagnostics = to_json(source, "pins.nix").unwrap_err();
        let first = &diagnostics.0[0];
        assert_eq!(first.message, "`pins.nix` is not valid Nix: unexpected `\"v1\"`, expected `=`");
        assert_eq!(first.location.as_ref().map(ToString::to_string).as_deref(), Some("pins.nix:3:19"));
        assert_eq!(first.field.as_deref(), Some("images.alloy.tag"));
        assert!(first.help.as_deref().unwrap_or("").contains("nix-instantiate --parse pins.nix"));

        let eof = to_json("{ a = 1;", "pins.nix").unwrap_err();
        assert!(eof.0.iter().any(|d| d.message.contains("unexpected end of file")), "{eof}");
        assert!(to_json("", "pins.nix").is_err());
    }

    #[test]
    fn a_bad_digest_is_reported_with_what_is_wrong() {
        let digest = |value: &str| {
            pins_error(&format!(
                "{{ images.alloy = {{ repository = \"docker.io/grafana/alloy\"; tag = \"v1\"; digest = \"{value}\"; }}; }}"
            ))
        };
        let short = "sha256:0f4434c92b3e6cdac38bb129b344e1790c246f7b6e2eaffcc16a5fa363240e3";
        assert_eq!(
            digest(short),
            format!("pins.nix:1:81 images.alloy.digest: `digest` of image `alloy` is `{short}`: expected `sha256:` followed by 64 lowercase hex digits, and it has 63 characters after `sha256:`")
        );
        let upper = "sha256:0F4434C92B3E6CDAC38BB129B344E1790C246F7B6E2EAFFCC16A5FA363240E33";
        assert!(digest(upper).ends_with("and it has uppercase letters"));
        let not_hex = "sha256:zf4434c92b3e6cdac38bb129b344e1790c246f7b6e2eaffcc16a5fa363240e33";
        assert!(digest(not_hex).ends_with("and it has characters that are not hex digits"));
        let md5 = "md5:0f4434c92b3e6cdac38bb129b344e179";
        assert!(digest(md5).ends_with("and it does not start with `sha256:`"));
        assert!(digest("").ends_with("`digest` of image `alloy` is empty"));
    }

    #[test]
    fn image_records_are_checked_field_by_field() {
        let image = |fields: &str| pins_error(&format!("{{ images.loki = {{ {fields} }}; }}"));
        let digest = "digest = \"sha256:efd47c67f9bac88ca29bcf8cb997d9ab29d1848bd0aff579282295542a745952\";";
        assert_eq!(
            image(&format!("repository = \"\"; tag = \"3.7.6\"; {digest}")),
            "pins.nix:1:32 images.loki.repository: `repository` of image `loki` is empty"
        );
        assert_eq!(
            image(&format!("repository = \"docker.io/grafana/loki\"; tag = \"\"; {digest}")),
            "pins.nix:1:64 images.loki.tag: `tag` of image `loki` is empty"
        );
        assert_eq!(
            image(&format!("repository = \"docker.io/grafana/loki:3.7.6\"; tag = \"3.7.6\"; {digest}")),
            "pins.nix:1:32 images.loki.repository: `repository` of image `loki` is `docker.io/grafana/loki:3.7.6`: it includes a tag"
        );
        assert_eq!(
            image(&format!("repository = \"docker.io/grafana/loki\"; tag = \"3.7.6@x\"; {digest}")),
            "pins.nix:1:64 images.loki.tag: `tag` of image `loki` is `3.7.6@x`: not a valid image tag"
        );
        assert_eq!(
            image(&format!("repository = \"docker.io/grafana/loki\"; tag = 3; {digest}")),
            "pins.nix:1:64 images.loki.tag: `tag` of image `loki` must be a string, found an integer"
        );
        assert_eq!(
            image(&format!("repository = \"docker.io/grafana/loki\"; {digest}")),
            "pins.nix:1:17 images.loki.tag: image `loki` has no `tag`"
        );
        assert_eq!(
            image(&format!("repository = \"docker.io/grafana/loki\"; tag = \"3.7.6\"; {digest} arch = \"arm64\";")),
            "pins.nix:1:157 images.loki.arch: unknown attribute `arch` in image `loki`"
        );
        assert!(Pins::parse("{ images.loki = { repository = \"localhost:5000/loki\"; tag = \"3\"; digest = \"sha256:efd47c67f9bac88ca29bcf8cb997d9ab29d1848bd0aff579282295542a745952\"; }; }", "p").is_ok());
    }

    /// The one error for an alloy image with the given `validator = ...;` text (on line 2).
    fn validator_error(validator: &str) -> String {
        pins_error(&format!("{{ images.alloy = {{ {ALLOY}\n{validator} }}; }}"))
    }

    fn alloy_with(validator: &str) -> ImagePin {
        let source = format!("{{ images.alloy = {{ {ALLOY} {validator} }}; }}");
        let pins = Pins::parse(&source, "pins.nix").unwrap_or_else(|d| panic!("{d}"));
        pins.images["alloy"].clone()
    }

    #[test]
    fn the_real_pins_file_records_the_validators_of_the_flake() {
        let pins = Pins::parse(REAL, DEFAULT_PINS).unwrap_or_else(|d| panic!("{d}"));
        let validated: Vec<(&str, &str, &str)> = pins
            .images
            .iter()
            .filter_map(|(name, pin)| {
                pin.validator.as_ref().map(|v| (name.as_str(), v.package.as_str(), v.version.as_str()))
            })
            .collect();
        assert_eq!(validated, [("alloy", "grafana-alloy", "1.16.0"), ("loki", "grafana-loki", "3.7.3")]);

        let alloy = pins.image("alloy").unwrap().validator_skew().unwrap();
        assert_eq!((alloy.image.to_string(), alloy.validator.to_string()), ("1.18".into(), "1.16".into()));
        assert!(
            matches!(&alloy.skew, Skew::Accepted { reason } if reason.starts_with("nixpkgs has grafana-alloy 1.16"))
        );
        let loki = pins.image("loki").unwrap().validator_skew().unwrap();
        assert_eq!(loki.skew, Skew::SameMinor);
        assert!(pins.images.values().all(|pin| pin.validator_skew().is_none_or(|r| r.skew.holds())));
        assert_eq!(pins.image("tempo").unwrap().validator_skew(), None);
    }

    #[test]
    fn versions_split_as_nix_splits_them() {
        // What `builtins.splitVersion` gives (Nix 2.8 and 2.26 agree); tests/nix.rs asks Nix too.
        let cases: [(&str, &[&str]); 8] = [
            ("v1.18.1", &["v", "1", "18", "1"]),
            ("3.7.6", &["3", "7", "6"]),
            ("1.31.6-alpine", &["1", "31", "6", "alpine"]),
            ("4.46", &["4", "46"]),
            ("latest", &["latest"]),
            ("1.2rc1", &["1", "2", "rc", "1"]),
            ("..1--2.", &["1", "2"]),
            ("", &[]),
        ];
        for (version, parts) in cases {
            assert_eq!(split_version(version), parts, "{version}");
        }
        let major_minor = |v: &str| MajorMinor::of(v).map(|mm| mm.to_string());
        assert_eq!(major_minor("v1.18.1").as_deref(), Some("1.18"));
        assert_eq!(major_minor("1.31.6-alpine").as_deref(), Some("1.31"));
        assert_eq!(major_minor("4.46").as_deref(), Some("4.46"));
        assert_eq!(major_minor("1.2rc1").as_deref(), Some("1.2"));
        assert_eq!(major_minor("latest"), None);
        assert_eq!(major_minor("3"), None);
        assert_eq!(major_minor("vv1.2"), None);
        assert_eq!(major_minor("1rc.2"), None);
    }

    #[test]
    fn the_skew_rule_compares_major_and_minor_versions() {
        let skew = |tag: &str, version: &str, accept: Option<&str>| {
            let validator = Validator {
                package: "grafana-alloy".into(),
                version: version.into(),
                accept_minor_skew: accept.map(str::to_string),
            };
            validator.skew(tag).map(|report| report.skew)
        };
        assert_eq!(skew("v1.18.1", "1.18.0", None), Some(Skew::SameMinor));
        assert_eq!(skew("3.7.6", "3.07.3", None), Some(Skew::SameMinor));
        assert_eq!(skew("v1.18.1", "1.16.0", None), Some(Skew::NotAccepted));
        assert_eq!(skew("v1.18.1", "1.19.0", None), Some(Skew::NotAccepted));
        assert_eq!(skew("v1.18.1", "1.16.0", Some("why")), Some(Skew::Accepted { reason: "why".into() }));
        assert_eq!(skew("v1.18.1", "1.18.3", Some("why")), Some(Skew::NeedlessAcceptance));
        assert_eq!(skew("2.3.1", "1.20.3", Some("why")), Some(Skew::MajorDiffers));
        assert_eq!(skew("2.3.1", "1.3.1", None), Some(Skew::MajorDiffers));
        assert_eq!(skew("latest", "1.3.1", None), None);
        let holds: Vec<bool> = [
            Skew::SameMinor,
            Skew::Accepted { reason: "why".into() },
            Skew::NotAccepted,
            Skew::MajorDiffers,
            Skew::NeedlessAcceptance,
        ]
        .iter()
        .map(Skew::holds)
        .collect();
        assert_eq!(holds, [true, true, false, false, false]);
    }

    #[test]
    fn pins_shows_the_image_version_beside_its_validator() {
        let pins = Pins::parse(REAL, DEFAULT_PINS).unwrap_or_else(|d| panic!("{d}"));
        let (lines, holds) = pins.image("loki").unwrap().validation_lines();
        assert_eq!(lines, ["version 3.7.6; validated by nixpkgs grafana-loki 3.7.3", "same minor version 3.7"]);
        assert!(holds);
        let (lines, holds) = pins.image("tempo").unwrap().validation_lines();
        assert_eq!(lines, ["version 3.0.2; no validator in the flake"]);
        assert!(holds);

        let (lines, holds) = alloy_with(
            r#"validator = { package = "grafana-alloy"; version = "1.16.0"; accept_minor_skew = "harmless"; };"#,
        )
        .validation_lines();
        assert_eq!(
            lines,
            [
                "version 1.18.1; validated by nixpkgs grafana-alloy 1.16.0",
                "SKEW: minor versions differ (image 1.18, validator 1.16), accepted: harmless"
            ]
        );
        assert!(holds);
        let (lines, holds) =
            alloy_with(r#"validator = { package = "grafana-alloy"; version = "1.16.0"; };"#).validation_lines();
        assert_eq!(
            lines[1],
            "SKEW: minor versions differ (image 1.18, validator 1.16) and nothing accepts it, so `nix flake check` \
             fails: validate with a grafana-alloy of 1.18, or say why the skew is harmless in `accept_minor_skew`"
        );
        assert!(!holds);
        let (lines, holds) =
            alloy_with(r#"validator = { package = "grafana-alloy"; version = "1.18.0"; accept_minor_skew = "old"; };"#)
                .validation_lines();
        assert!(lines[1].starts_with("`accept_minor_skew` is set though the minor versions agree (1.18)"), "{lines:?}");
        assert!(!holds);
        let (lines, holds) =
            alloy_with(r#"validator = { package = "grafana-alloy"; version = "2.0.0"; accept_minor_skew = "x"; };"#)
                .validation_lines();
        assert!(lines[1].starts_with("SKEW: major versions differ (image 1.18, validator 2.0)"), "{lines:?}");
        assert!(!holds);
    }

    #[test]
    fn validator_records_are_checked_field_by_field() {
        assert_eq!(
            validator_error(r#"validator = "grafana-alloy";"#),
            "pins.nix:2:13 images.alloy.validator: `validator` of image `alloy` must be an attribute set, found a string"
        );
        assert_eq!(
            validator_error(r#"validator = { version = "1.16.0"; };"#),
            "pins.nix:2:13 images.alloy.validator.package: the validator of image `alloy` has no `package`"
        );
        assert_eq!(
            validator_error(r#"validator = { package = "grafana-alloy"; };"#),
            "pins.nix:2:13 images.alloy.validator.version: the validator of image `alloy` has no `version`"
        );
        assert_eq!(
            validator_error(r#"validator = { package = "pkgs.grafana-alloy"; version = "1.16.0"; };"#),
            "pins.nix:2:25 images.alloy.validator.package: `package` of the validator of image `alloy` is `pkgs.grafana-alloy`: not a nixpkgs attribute name"
        );
        assert_eq!(
            validator_error(r#"validator = { package = ""; version = "1.16.0"; };"#),
            "pins.nix:2:25 images.alloy.validator.package: `package` of the validator of image `alloy` is empty"
        );
        assert_eq!(
            validator_error(r#"validator = { package = "grafana-alloy"; version = 1; };"#),
            "pins.nix:2:52 images.alloy.validator.version: `version` of the validator of image `alloy` must be a string, found an integer"
        );
        assert_eq!(
            validator_error(r#"validator = { package = "grafana-alloy"; version = "unstable"; };"#),
            "pins.nix:2:52 images.alloy.validator.version: `version` of the validator of image `alloy` is `unstable`: it does not start with major and minor version numbers"
        );
        assert_eq!(
            validator_error(r#"validator = { package = "grafana-alloy"; version = "1.16.0"; accept_minor_skew = " "; };"#),
            "pins.nix:2:82 images.alloy.validator.accept_minor_skew: `accept_minor_skew` of the validator of image `alloy` is empty"
        );
        assert_eq!(
            validator_error(r#"validator = { package = "grafana-alloy"; version = "1.16.0"; accept_minor_skew = true; };"#),
            "pins.nix:2:82 images.alloy.validator.accept_minor_skew: `accept_minor_skew` of the validator of image `alloy` must be a string, found a boolean"
        );
        assert_eq!(
            validator_error(r#"validator = { package = "grafana-alloy"; version = "1.16.0"; accept_skew = "x"; };"#),
            "pins.nix:2:62 images.alloy.validator.accept_skew: unknown attribute `accept_skew` in the validator of image `alloy`"
        );
        let latest = r#"{ images.alloy = { repository = "docker.io/grafana/alloy"; tag = "latest"; digest = "sha256:0f4434c92b3e6cdac38bb129b344e1790c246f7b6e2eaffcc16a5fa363240e33";
validator = { package = "grafana-alloy"; version = "1.16.0"; }; }; }"#;
        assert_eq!(
            pins_error(latest),
            "pins.nix:2:13 images.alloy.validator: image `alloy` has a validator, but its tag `latest` has no major.minor version to compare with the validator's"
        );
        // A record that reads is not yet one the flake accepts: that is the skew rule's part.
        let unaccepted = alloy_with(r#"validator = { package = "grafana-alloy"; version = "1.16.0"; };"#);
        assert_eq!(
            unaccepted.validator,
            Some(Validator { package: "grafana-alloy".into(), version: "1.16.0".into(), accept_minor_skew: None })
        );
    }

    #[test]
    fn the_shape_of_the_file_is_checked() {
        assert_eq!(pins_error("[ ]"), "pins.nix:1:1 : the pins file must be an attribute set, found a list");
        assert_eq!(pins_error("{ }"), "pins.nix:1:1 images: the pins file has no `images`");
        assert_eq!(
            pins_error("{ images = [ ]; }"),
            "pins.nix:1:12 images: `images` must be an attribute set of images, found a list"
        );
        assert_eq!(
            pins_error("{ images = { }; extra = 1; }"),
            "pins.nix:1:17 extra: unknown attribute `extra` in the pins file"
        );
        assert_eq!(
            pins_error("{ images.alloy = \"x\"; }"),
            "pins.nix:1:18 images.alloy: image `alloy` must be an attribute set, found a string"
        );
    }

    #[test]
    fn all_errors_of_a_pins_file_come_together() {
        let source = "{\n  images.a = { repository = \"\"; };\n  images.b = { tag = 1; digest = \"sha256:x\"; };\n}";
        let diagnostics = Pins::parse(source, "pins.nix").unwrap_err();
        let messages: Vec<&str> = diagnostics.0.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "image `a` has no `digest`",
                "image `a` has no `tag`",
                "`repository` of image `a` is empty",
                "image `b` has no `repository`",
                "`tag` of image `b` must be a string, found an integer",
                "`digest` of image `b` is `sha256:x`: expected `sha256:` followed by 64 lowercase hex digits, and it has 1 character after `sha256:`",
            ]
        );
    }

    #[test]
    fn deep_nesting_and_operator_chains_are_refused_without_overflowing() {
        let deep_list = "[".repeat(100_000);
        assert!(error(&deep_list).ends_with("`pins.nix` nests values more than 100 levels deep"));
        let negations = format!("{}1", "-".repeat(100_000));
        assert!(error(&negations).ends_with("operators are not plain data"));
        let concat = format!("{}a", "a ++ ".repeat(100_000));
        assert!(error(&concat).ends_with("operators are not plain data"));
        let nots = format!("{}true", "!".repeat(100_000));
        assert!(error(&nots).ends_with("operators are not plain data"));
        let within = format!("{}1{}", "[".repeat(50), "]".repeat(50));
        assert!(to_json(&within, "pins.nix").is_ok());
    }

    #[test]
    fn arbitrary_input_never_panics_and_every_error_has_a_place() {
        let alphabet: Vec<char> = "{}[]()=;.:\"'$\\ \n#/*ab-1?@,<>!+~é".chars().collect();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut source = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            for _ in 0..(state % 60) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                source.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            let results = [to_json(&source, "fuzz.nix").err(), Pins::parse(&source, "fuzz.nix").err()];
            for diagnostics in results.into_iter().flatten() {
                assert!(!diagnostics.0.is_empty(), "a failure says why: {source:?}");
                for d in &diagnostics.0 {
                    let at =
                        d.location.as_ref().unwrap_or_else(|| panic!("no place for {:?} in {source:?}", d.message));
                    assert!(at.file == "fuzz.nix" && at.line >= 1 && at.column >= 1, "{at} for {source:?}");
                }
            }
        }
    }
}
