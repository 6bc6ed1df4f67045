//! Pins: the container images obsc renders, read from `nix/pins.nix`.
//!
//! The flake imports the same file, so Nix and obsc cannot disagree about an image. obsc reads it
//! with rnix and never evaluates it: the file must be plain data (attribute sets, lists, strings,
//! integers, `true`, `false`, `null`), and anything else — a function, `let`, `with`, `rec`,
//! `inherit`, interpolation, a path, a reference, an operator, `import` — is reported where it is
//! written. Because nothing is evaluated, what obsc reads is exactly what
//! `nix-instantiate --eval --strict --json` gives for the same file (tests/nix.rs checks that).

use std::collections::BTreeMap;
use std::path::Path;

use rnix::ast::{self, HasEntry, InterpolPart};
use rnix::{NodeOrToken, ParseError, SyntaxKind, SyntaxNode, TextRange, TextSize};

use crate::diag::{Diagnostic, Diagnostics, Location};

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

/// A generic JSON view of any pure-data Nix file, for cross-checking against
/// `nix-instantiate --eval --strict --json`.
pub fn to_json(source: &str, file_name: &str) -> Result<serde_json::Value, Diagnostics> {
    let (data, diagnostics) = read_plain_data(source, file_name);
    finish(data.map(|data| data.to_json()), diagnostics)
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

// ---------------------------------------------------------------------------------------------
// Plain data: what a Nix file means when it is nothing but literals.

/// A value of a plain-data Nix file and where it was written.
#[derive(Debug, Clone)]
struct Data {
    at: Location,
    value: Value,
}

#[derive(Debug, Clone)]
enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    Null,
    List(Vec<Data>),
    Set(BTreeMap<String, Binding>),
    /// Something that is not plain data, already reported; the checks of the pins schema skip it.
    Invalid,
}

/// One attribute of a set: where its name was first written, and its value.
#[derive(Debug, Clone)]
struct Binding {
    name_at: Location,
    data: Data,
}

impl Value {
    fn is_invalid(&self) -> bool {
        matches!(self, Value::Invalid)
    }

    fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Bool(_) => "a boolean",
            Value::Null => "null",
            Value::List(_) => "a list",
            Value::Set(_) => "an attribute set",
            Value::Invalid => "a value that is not plain data",
        }
    }
}

impl Data {
    fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Null | Value::Invalid => serde_json::Value::Null,
            Value::List(items) => serde_json::Value::Array(items.iter().map(Data::to_json).collect()),
            Value::Set(set) => serde_json::Value::Object(
                set.iter().map(|(name, binding)| (name.clone(), binding.data.to_json())).collect(),
            ),
        }
    }
}

/// rnix's parser recurses once per level of list nesting and per unary or right-associative
/// operator, with no limit of its own there; a deep enough input would overflow the stack. Plain
/// data nests a few levels and has no operators, so such input is refused before it is parsed.
const MAX_NESTING: usize = 100;
const MAX_OPERATORS: usize = 100;

/// Reads a plain-data Nix file. `None` when it is not valid Nix; otherwise the data, with
/// [`Value::Invalid`] wherever something is not plain data (and a diagnostic for each).
fn read_plain_data(source: &str, file_name: &str) -> (Option<Data>, Diagnostics) {
    let lines = LineIndex::new(source, file_name);
    let mut diagnostics = Diagnostics::default();
    if u32::try_from(source.len()).is_err() {
        diagnostics.push(Diagnostic::error(format!("`{file_name}` is too large to read (over 4 GiB)")));
        return (None, diagnostics);
    }
    if let Some(diagnostic) = nesting_guard(source, &lines) {
        diagnostics.push(diagnostic);
        return (None, diagnostics);
    }
    let parse = rnix::Root::parse(source);
    let root = parse.syntax();
    for error in syntax_errors_worth_reporting(parse.errors()) {
        diagnostics.push(syntax_error(error, &root, source, &lines));
    }
    // The walk below needs a tree without error nodes (rnix asserts on them inside strings).
    let error_node = root.descendants().find(|node| node.kind() == SyntaxKind::NODE_ERROR);
    if let (true, Some(node)) = (diagnostics.0.is_empty(), error_node.as_ref()) {
        diagnostics.push(syntax_error(&ParseError::Unexpected(node.text_range()), &root, source, &lines));
    }
    if !diagnostics.0.is_empty() {
        return (None, diagnostics);
    }
    let mut reader = Reader { file_name, lines: &lines, diagnostics };
    let expr = cast::<ast::Root>(root).and_then(|root| root.expr());
    let data = reader.expr(expr, "", TextSize::from(0));
    (Some(data), reader.diagnostics)
}

/// After a real syntax error, rnix's recovery usually also reports "unexpected end of file"
/// for every construct left open; those say nothing new.
fn syntax_errors_worth_reporting(errors: &[ParseError]) -> impl Iterator<Item = &ParseError> {
    let is_eof = |error: &ParseError| matches!(error, ParseError::UnexpectedEOF | ParseError::UnexpectedEOFWanted(_));
    let only_eof = errors.iter().all(is_eof);
    errors
        .iter()
        .enumerate()
        .filter(move |(index, error)| !is_eof(error) || (only_eof && *index == 0))
        .map(|(_, error)| error)
}

fn finish<T>(value: Option<T>, diagnostics: Diagnostics) -> Result<T, Diagnostics> {
    match value {
        Some(value) if !diagnostics.has_errors() => Ok(value),
        _ => Err(finish_errors(diagnostics)),
    }
}

fn finish_errors(mut diagnostics: Diagnostics) -> Diagnostics {
    diagnostics.sort();
    diagnostics
}

fn nesting_guard(source: &str, lines: &LineIndex) -> Option<Diagnostic> {
    use SyntaxKind::*;
    let mut offset = 0usize;
    let mut depth = 0usize;
    let mut operators = 0usize;
    let mut after_minus = false;
    for (kind, text) in rnix::tokenize(source) {
        let at = offset;
        offset += text.len();
        if kind.is_trivia() {
            continue;
        }
        // `-` in front of a number is a negative number, the one operator plain data has.
        if after_minus && !matches!(kind, TOKEN_INTEGER | TOKEN_FLOAT) {
            operators += 1;
        }
        after_minus = kind == TOKEN_SUB;
        if kind == TOKEN_INVERT || (kind != TOKEN_SUB && binary_operator(kind).is_some()) {
            operators += 1;
        }
        match kind {
            TOKEN_L_BRACK | TOKEN_L_BRACE | TOKEN_L_PAREN | TOKEN_INTERPOL_START => depth += 1,
            TOKEN_R_BRACK | TOKEN_R_BRACE | TOKEN_R_PAREN | TOKEN_INTERPOL_END => depth = depth.saturating_sub(1),
            _ => {}
        }
        let message = if depth > MAX_NESTING {
            format!("`{}` nests values more than {MAX_NESTING} levels deep", lines.file_name)
        } else if operators > MAX_OPERATORS {
            format!("`{}` has more than {MAX_OPERATORS} operators; operators are not plain data", lines.file_name)
        } else {
            continue;
        };
        return Some(
            error_at(&lines.location(at), "", message)
                .help("plain data nests a few levels and uses no operators; nothing was read from this file"),
        );
    }
    None
}

/// The spelling of a binary operator token, for messages.
fn binary_operator(kind: SyntaxKind) -> Option<&'static str> {
    ast::BinOpKind::from_kind(kind).map(|_| match kind {
        SyntaxKind::TOKEN_CONCAT => "++",
        SyntaxKind::TOKEN_UPDATE => "//",
        SyntaxKind::TOKEN_ADD => "+",
        SyntaxKind::TOKEN_SUB => "-",
        SyntaxKind::TOKEN_MUL => "*",
        SyntaxKind::TOKEN_DIV => "/",
        SyntaxKind::TOKEN_AND_AND => "&&",
        SyntaxKind::TOKEN_EQUAL => "==",
        SyntaxKind::TOKEN_IMPLICATION => "->",
        SyntaxKind::TOKEN_LESS => "<",
        SyntaxKind::TOKEN_LESS_OR_EQ => "<=",
        SyntaxKind::TOKEN_MORE => ">",
        SyntaxKind::TOKEN_MORE_OR_EQ => ">=",
        SyntaxKind::TOKEN_NOT_EQUAL => "!=",
        SyntaxKind::TOKEN_OR_OR => "||",
        SyntaxKind::TOKEN_PIPE_RIGHT => "|>",
        SyntaxKind::TOKEN_PIPE_LEFT => "<|",
        _ => "an operator",
    })
}

/// Walks a syntax tree that parsed without errors, keeping what is plain data and reporting the
/// rest. It reads on past a problem (the value becomes [`Value::Invalid`]) so that every problem
/// in the file is reported at once.
struct Reader<'a> {
    file_name: &'a str,
    lines: &'a LineIndex<'a>,
    diagnostics: Diagnostics,
}

impl Reader<'_> {
    fn location(&self, node: &SyntaxNode) -> Location {
        self.lines.location(usize::from(node.text_range().start()))
    }

    /// Reports `what` as not plain data; returns `None` so that callers can `return` it.
    fn not_plain_data<T>(
        &mut self,
        node: &SyntaxNode,
        path: &str,
        what: impl std::fmt::Display,
        help: Option<&str>,
    ) -> Option<T> {
        let help = help.map(str::to_string).unwrap_or_else(|| {
            format!(
                "obsc reads `{}` without evaluating it: write the value itself, as a string, integer, list or attribute set",
                self.file_name
            )
        });
        let diagnostic = error_at(&self.location(node), path, format!("{what} is not plain data")).help(help);
        self.diagnostics.push(diagnostic);
        None
    }

    /// `fallback` is where a missing expression would have been (only in trees with errors).
    fn expr(&mut self, expr: Option<ast::Expr>, path: &str, fallback: TextSize) -> Data {
        let Some(expr) = expr else {
            let at = self.lines.location(usize::from(fallback));
            self.diagnostics.push(error_at(&at, path, "a value is missing here").help("write a value"));
            return Data { at, value: Value::Invalid };
        };
        let node = syntax(&expr).clone();
        let at = self.location(&node);
        let value = self.value(expr, &node, path).unwrap_or(Value::Invalid);
        Data { at, value }
    }

    fn value(&mut self, expr: ast::Expr, node: &SyntaxNode, path: &str) -> Option<Value> {
        let value = match expr {
            ast::Expr::Str(string) => Value::Str(self.string(&string, path)?),
            ast::Expr::Literal(literal) => self.literal(&literal, path, false)?,
            ast::Expr::List(list) => {
                let start = node.text_range().start();
                let items = list.items().enumerate();
                Value::List(
                    items.map(|(index, item)| self.expr(Some(item), &format!("{path}[{index}]"), start)).collect(),
                )
            }
            ast::Expr::AttrSet(set) => Value::Set(self.attr_set(&set, path)),
            ast::Expr::Paren(paren) => self.expr(paren.expr(), path, node.text_range().start()).value,
            ast::Expr::UnaryOp(op) => match (op.operator(), op.expr()) {
                (Some(ast::UnaryOpKind::Negate), Some(ast::Expr::Literal(literal))) => {
                    self.literal(&literal, path, true)?
                }
                (Some(ast::UnaryOpKind::Invert), _) => {
                    return self.not_plain_data(node, path, "the operator `!`", None)
                }
                _ => return self.not_plain_data(node, path, "the operator `-`", None),
            },
            ast::Expr::Ident(_) => match node.text().to_string().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                name => {
                    let help =
                        format!("write the value itself here; if `{name}` is meant as text, quote it: \"{name}\"");
                    let what = format_args!("`{name}` refers to another value; a reference");
                    return self.not_plain_data(node, path, what, Some(&help));
                }
            },
            ast::Expr::Lambda(_) => return self.not_plain_data(node, path, "a function", None),
            ast::Expr::LetIn(_) | ast::Expr::LegacyLet(_) => {
                let help = "write each value out in full where it is used";
                return self.not_plain_data(node, path, "`let`", Some(help));
            }
            ast::Expr::With(_) => return self.not_plain_data(node, path, "`with`", None),
            ast::Expr::Apply(apply) if calls_import(&apply) => {
                let help = "write the values into this file instead of importing them";
                return self.not_plain_data(node, path, "`import`", Some(help));
            }
            ast::Expr::Apply(_) => return self.not_plain_data(node, path, "a function call", None),
            ast::Expr::BinOp(_) => {
                let spelling = node
                    .children_with_tokens()
                    .filter_map(NodeOrToken::into_token)
                    .find_map(|token| binary_operator(token.kind()))
                    .unwrap_or("an operator");
                return self.not_plain_data(node, path, format_args!("the operator `{spelling}`"), None);
            }
            ast::Expr::Select(_) => {
                return self.not_plain_data(node, path, format_args!("selecting an attribute (`{node}`)"), None);
            }
            ast::Expr::HasAttr(_) => return self.not_plain_data(node, path, "the operator `?`", None),
            ast::Expr::IfElse(_) => return self.not_plain_data(node, path, "`if`", None),
            ast::Expr::Assert(_) => return self.not_plain_data(node, path, "`assert`", None),
            ast::Expr::CurPos(_) => return self.not_plain_data(node, path, "`__curPos`", None),
            ast::Expr::PathAbs(_) | ast::Expr::PathRel(_) | ast::Expr::PathHome(_) | ast::Expr::PathSearch(_) => {
                let help = format!("if it is meant as text, quote it: \"{node}\"");
                return self.not_plain_data(node, path, format_args!("the path `{node}`"), Some(&help));
            }
            ast::Expr::Root(_) | ast::Expr::Error(_) => {
                let at = self.location(node);
                self.diagnostics.push(error_at(&at, path, "this is not valid Nix").help("fix the syntax"));
                return None;
            }
        };
        Some(value)
    }

    fn literal(&mut self, literal: &ast::Literal, path: &str, negative: bool) -> Option<Value> {
        let node = syntax(literal);
        let token = node.children_with_tokens().filter_map(NodeOrToken::into_token).find(|t| !t.kind().is_trivia())?;
        let text = token.text();
        let shown = if negative { format!("-{text}") } else { text.to_string() };
        let at = self.location(node);
        match token.kind() {
            SyntaxKind::TOKEN_INTEGER => match text.parse::<i64>() {
                Ok(value) => Some(Value::Int(if negative { -value } else { value })),
                Err(_) => {
                    self.diagnostics.push(
                        error_at(&at, path, format!("the integer `{shown}` does not fit in 64 bits"))
                            .help("Nix integers are 64-bit signed; write a larger number as a string"),
                    );
                    None
                }
            },
            SyntaxKind::TOKEN_FLOAT => {
                self.diagnostics.push(
                    error_at(&at, path, format!("the floating-point number `{shown}` is not supported"))
                        .help("write it as an integer, or as a string"),
                );
                None
            }
            _ if negative => self.not_plain_data(node, path, "the operator `-`", None),
            _ => {
                let help = format!("quote it: \"{text}\"");
                self.not_plain_data(node, path, format_args!("the unquoted URL `{text}`"), Some(&help))
            }
        }
    }

    fn string(&mut self, string: &ast::Str, path: &str) -> Option<String> {
        let mut text = String::new();
        let mut ok = true;
        for part in string.normalized_parts() {
            match part {
                InterpolPart::Literal(literal) => text.push_str(&literal),
                InterpolPart::Interpolation(interpolation) => {
                    let help = "write the string out in full; to write a literal `${` in a string, escape it as `\\${`";
                    let what = "string interpolation `${...}`";
                    let _: Option<()> = self.not_plain_data(syntax(&interpolation), path, what, Some(help));
                    ok = false;
                }
            }
        }
        ok.then_some(text)
    }

    /// The name of one attribute in an attribute path, if it is written literally.
    fn attr_name(&mut self, attr: &ast::Attr, path: &str) -> Option<String> {
        match attr {
            ast::Attr::Ident(ident) => Some(syntax(ident).text().to_string()),
            ast::Attr::Str(string) => self.string(string, path),
            ast::Attr::Dynamic(dynamic) => {
                let help = "write the attribute name out, quoted if it is not a plain name";
                self.not_plain_data(syntax(dynamic), path, "a computed attribute name `${...}`", Some(help))
            }
        }
    }

    fn attr_set(&mut self, set: &ast::AttrSet, path: &str) -> BTreeMap<String, Binding> {
        if let Some(rec) = set.rec_token() {
            let at = self.lines.location(usize::from(rec.text_range().start()));
            self.diagnostics.push(
                error_at(&at, path, "`rec` is not plain data")
                    .help("remove `rec` and write each value out in full instead of referring to another attribute"),
            );
        }
        let mut bindings = BTreeMap::new();
        for entry in set.entries() {
            match entry {
                ast::Entry::Inherit(inherit) => {
                    let help = "write `name = value;` with the value itself";
                    let _: Option<()> = self.not_plain_data(syntax(&inherit), path, "`inherit`", Some(help));
                }
                ast::Entry::AttrpathValue(binding) => self.binding(&binding, path, &mut bindings),
            }
        }
        bindings
    }

    /// Adds `a.b.c = value;` to `bindings`, as Nix does: intermediate sets are created or
    /// extended, two attribute-set values for one name are merged, anything else defined twice
    /// is an error.
    fn binding(&mut self, binding: &ast::AttrpathValue, path: &str, bindings: &mut BTreeMap<String, Binding>) {
        let mut names = Vec::new();
        let mut full_path = path.to_string();
        for attr in binding.attrpath().into_iter().flat_map(|attrpath| attrpath.attrs()) {
            let Some(name) = self.attr_name(&attr, &full_path) else { return };
            full_path = join_path(&full_path, &name);
            names.push((name, self.location(syntax(&attr)), full_path.clone()));
        }
        let fallback = syntax(binding).text_range().end();
        let value = self.expr(binding.value(), &full_path, fallback);
        let Some(((name, name_at, name_path), intermediate)) = names.split_last() else { return };
        let mut current = bindings;
        for (name, name_at, name_path) in intermediate {
            let entry = current.entry(name.clone()).or_insert_with(|| Binding {
                name_at: name_at.clone(),
                data: Data { at: name_at.clone(), value: Value::Set(BTreeMap::new()) },
            });
            match &mut entry.data.value {
                Value::Set(inner) => current = inner,
                _ => {
                    let first = entry.name_at.clone();
                    self.diagnostics.push(defined_twice(name_at, name_path, &first));
                    return;
                }
            }
        }
        self.insert(current, name, Binding { name_at: name_at.clone(), data: value }, name_path);
    }

    fn insert(&mut self, bindings: &mut BTreeMap<String, Binding>, name: &str, new: Binding, path: &str) {
        let Some(existing) = bindings.get_mut(name) else {
            bindings.insert(name.to_string(), new);
            return;
        };
        match (&mut existing.data.value, new.data.value) {
            (Value::Set(existing), Value::Set(additions)) => {
                for (name, binding) in additions {
                    let inner_path = join_path(path, &name);
                    self.insert(existing, &name, binding, &inner_path);
                }
            }
            _ => {
                let first = existing.name_at.clone();
                self.diagnostics.push(defined_twice(&new.name_at, path, &first));
            }
        }
    }
}

fn defined_twice(at: &Location, path: &str, first: &Location) -> Diagnostic {
    error_at(at, path, format!("`{path}` is defined twice"))
        .help(format!("it is first defined at {first}; keep one of the two"))
}

/// Whether an application's function is `import` (`import ./x.nix`, `import ./x.nix { }`).
fn calls_import(apply: &ast::Apply) -> bool {
    let mut function = apply.lambda();
    while let Some(ast::Expr::Apply(inner)) = function {
        function = inner.lambda();
    }
    matches!(function, Some(ast::Expr::Ident(ident)) if syntax(&ident).text() == "import")
}

fn syntax_error(error: &ParseError, root: &SyntaxNode, source: &str, lines: &LineIndex) -> Diagnostic {
    let end = TextSize::try_from(source.len()).unwrap_or_default();
    let (range, what) = match error {
        ParseError::Unexpected(range) => (*range, format!("unexpected {}", quoted(source, *range))),
        ParseError::UnexpectedExtra(range) => {
            (*range, format!("unexpected {} after the end of the value", quoted(source, *range)))
        }
        ParseError::UnexpectedWanted(_, range, wanted) => {
            (*range, format!("unexpected {}, expected {}", quoted(source, *range), spell_kinds(wanted)))
        }
        ParseError::UnexpectedDoubleBind(range) => (*range, "a pattern is bound twice".to_string()),
        ParseError::UnexpectedEOF => (TextRange::empty(end), "unexpected end of file".to_string()),
        ParseError::UnexpectedEOFWanted(wanted) => {
            (TextRange::empty(end), format!("unexpected end of file, expected {}", spell_kinds(wanted)))
        }
        ParseError::DuplicatedArgs(range, name) => (*range, format!("argument `{name}` is duplicated")),
        ParseError::RecursionLimitExceeded => {
            (TextRange::empty(TextSize::from(0)), "values are nested too deeply".to_string())
        }
        other => (TextRange::empty(TextSize::from(0)), other.to_string()),
    };
    let path = enclosing_path(root, range);
    error_at(
        &lines.location(usize::from(range.start())),
        &path,
        format!("`{}` is not valid Nix: {what}", lines.file_name),
    )
    .help(format!("fix the syntax; `nix-instantiate --parse {}` shows how Nix reads it", lines.file_name))
}

/// The first token of `range`, quoted, for a message.
fn quoted(source: &str, range: TextRange) -> String {
    let rest = source.get(usize::from(range.start())..).unwrap_or("");
    let mut tokens = rnix::tokenize(rest).skip_while(|(kind, _)| kind.is_trivia());
    let Some((kind, first)) = tokens.next() else {
        return "end of file".to_string();
    };
    let mut token = first.to_string();
    if kind == SyntaxKind::TOKEN_STRING_START {
        for (kind, text) in tokens.take(64) {
            token.push_str(text);
            if kind == SyntaxKind::TOKEN_STRING_END {
                break;
            }
        }
    }
    let short: String = token.chars().take(24).collect();
    let ellipsis = if short.len() < token.len() { "..." } else { "" };
    format!("`{short}{ellipsis}`")
}

fn spell_kinds(kinds: &[SyntaxKind]) -> String {
    let spelled: Vec<String> = kinds.iter().map(|kind| spell_kind(*kind)).collect();
    match spelled.as_slice() {
        [] => "something else".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn spell_kind(kind: SyntaxKind) -> String {
    use SyntaxKind::*;
    let spelling = match kind {
        TOKEN_SEMICOLON => "`;`",
        TOKEN_ASSIGN => "`=`",
        TOKEN_L_BRACE => "`{`",
        TOKEN_R_BRACE => "`}`",
        TOKEN_L_BRACK => "`[`",
        TOKEN_R_BRACK => "`]`",
        TOKEN_L_PAREN => "`(`",
        TOKEN_R_PAREN => "`)`",
        TOKEN_COLON => "`:`",
        TOKEN_COMMA => "`,`",
        TOKEN_DOT => "`.`",
        TOKEN_QUESTION => "`?`",
        TOKEN_AT => "`@`",
        TOKEN_ELLIPSIS => "`...`",
        TOKEN_IN => "`in`",
        TOKEN_THEN => "`then`",
        TOKEN_ELSE => "`else`",
        TOKEN_INTERPOL_START => "`${`",
        TOKEN_INTERPOL_END => "`}`",
        TOKEN_REC => "`rec`",
        TOKEN_LET => "`let`",
        TOKEN_WITH => "`with`",
        TOKEN_IF => "`if`",
        TOKEN_ASSERT => "`assert`",
        TOKEN_INHERIT => "`inherit`",
        TOKEN_IDENT => "a name",
        TOKEN_STRING_START => "a string",
        TOKEN_STRING_END => "the end of the string",
        TOKEN_INTEGER => "an integer",
        NODE_ATTRPATH | NODE_IDENT | NODE_DYNAMIC | NODE_STRING => "an attribute name",
        _ => {
            return format!("{kind:?}")
                .trim_start_matches("TOKEN_")
                .trim_start_matches("NODE_")
                .to_lowercase()
                .replace('_', " ")
        }
    };
    spelling.to_string()
}

/// The attribute path around a syntax error, as far as the (error-recovered) tree shows it.
fn enclosing_path(root: &SyntaxNode, range: TextRange) -> String {
    let whole = root.text_range();
    let range = range.intersect(whole).unwrap_or_else(|| TextRange::empty(whole.end()));
    let element = root.covering_element(range);
    let start = match element {
        NodeOrToken::Node(node) => Some(node),
        NodeOrToken::Token(token) => token.parent(),
    };
    let mut names = Vec::new();
    for node in start.into_iter().flat_map(|node| node.ancestors()) {
        let Some(binding) = cast::<ast::AttrpathValue>(node) else { continue };
        // The tree around an error may be broken, so names are taken as written, not unescaped.
        let attrs: Vec<String> = binding
            .attrpath()
            .into_iter()
            .flat_map(|attrpath| attrpath.attrs())
            .map(|attr| syntax(&attr).text().to_string().trim_matches('"').to_string())
            .collect();
        names.push(attrs);
    }
    names.iter().rev().flatten().fold(String::new(), |path, name| join_path(&path, name))
}

/// rnix's AST types get `syntax()` and `cast()` from rowan's `AstNode` trait, which obsc does not
/// depend on directly; a bound on rnix's own `AstNode` (a subtrait of it) brings them into reach.
fn syntax<N: ast::AstNode>(node: &N) -> &SyntaxNode {
    node.syntax()
}

fn cast<N: ast::AstNode>(node: SyntaxNode) -> Option<N> {
    N::cast(node)
}

// ---------------------------------------------------------------------------------------------
// Positions and paths.

/// Turns byte offsets into 1-based line and column (columns count characters).
struct LineIndex<'a> {
    file_name: &'a str,
    source: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(source: &'a str, file_name: &'a str) -> Self {
        let line_starts = std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1)).collect();
        LineIndex { file_name, source, line_starts }
    }

    fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.source.len());
        let line = self.line_starts.partition_point(|&start| start <= offset).max(1);
        let line_start = self.line_starts[line - 1];
        let column = match self.source.get(line_start..offset) {
            Some(text) => text.chars().count(),
            None => offset - line_start,
        };
        Location {
            file: self.file_name.to_string(),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }
}

fn error_at(at: &Location, path: &str, message: impl Into<String>) -> Diagnostic {
    let diagnostic = Diagnostic::error(message);
    if path.is_empty() {
        Diagnostic { location: Some(at.clone()), ..diagnostic }
    } else {
        diagnostic.at(Some(at.clone()), path)
    }
}

/// A field path as written in Nix: names joined by `.`, quoted when they are not plain names.
fn field_path(names: &[&str]) -> String {
    names.iter().fold(String::new(), |path, name| join_path(&path, name))
}

fn join_path(path: &str, name: &str) -> String {
    let is_plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\''));
    let name = if is_plain { name.to_string() } else { format!("{name:?}") };
    if path.is_empty() {
        name
    } else {
        format!("{path}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn columns_count_characters_and_lines_start_at_one() {
        let lines = LineIndex::new("é = 1;\nab", "f");
        assert_eq!(lines.location(0).to_string(), "f:1:1");
        assert_eq!(lines.location(2).to_string(), "f:1:2");
        assert_eq!(lines.location(8).to_string(), "f:2:1");
        assert_eq!(lines.location(10).to_string(), "f:2:3");
        assert_eq!(lines.location(999).to_string(), "f:2:3");
    }
}
