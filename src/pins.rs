//! Pins: the container images obsc renders, read from `nix/pins.nix`.
//!
//! The flake imports the same file, so Nix and obsc cannot disagree about an image. The file is
//! plain data, read by [`crate::nixdata`] without evaluating it; this module is its schema:
//! `images.<name> = { repository; tag; digest; }`, each value checked where it is written.

use std::collections::BTreeMap;
use std::path::Path;

use crate::diag::{field_path, Diagnostic, Diagnostics};
use crate::nixdata::{error_at, finish, read_plain_data, Data, Value};

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
}

impl ImagePin {
    /// The reference a pod spec uses: `repository:tag@digest`. The runtime pulls by digest; the
    /// tag is there for people reading the manifest.
    pub fn reference(&self) -> String {
        format!("{}:{}@{}", self.repository, self.tag, self.digest)
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

const IMAGE_FIELDS: [&str; 3] = ["repository", "tag", "digest"];

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

fn image_from_data(name: &str, data: &Data, diagnostics: &mut Diagnostics) -> Option<ImagePin> {
    let image_path = field_path(&["images", name]);
    let Value::Set(fields) = &data.value else {
        if data.value.is_invalid() {
            return None;
        }
        diagnostics.push(
            error_at(
                &data.at,
                &image_path,
                format!("image `{name}` must be an attribute set, found {}", data.value.kind()),
            )
            .help("write `{ repository = \"...\"; tag = \"...\"; digest = \"sha256:...\"; }`"),
        );
        return None;
    };
    for (key, binding) in fields {
        if !IMAGE_FIELDS.contains(&key.as_str()) {
            diagnostics.push(
                error_at(
                    &binding.name_at,
                    &field_path(&["images", name, key]),
                    format!("unknown attribute `{key}` in image `{name}`"),
                )
                .help("an image has only `repository`, `tag` and `digest`; remove the others"),
            );
        }
    }
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
    Some(ImagePin { repository: repository?, tag: tag?, digest: digest? })
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
    fn arbitrary_input_never_panics() {
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
            let _ = to_json(&source, "fuzz.nix");
            let _ = Pins::parse(&source, "fuzz.nix");
        }
    }
}
