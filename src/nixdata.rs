//! Plain-data Nix: what a Nix file means when it is nothing but literals, read with rnix and
//! never evaluated.
//!
//! A plain-data file holds attribute sets, lists, strings, integers, `true`, `false` and `null`;
//! anything else (a function, `let`, `with`, `rec`, `inherit`, interpolation, a path, a
//! reference, an operator, `import`) is reported where it is written, every problem at once.
//! Because nothing is evaluated, what this reads is exactly what
//! `nix-instantiate --eval --strict --json` gives for the same file (tests/nix.rs checks that).
//! [`crate::pins`] reads its schema from the [`Data`] made here.

use std::collections::BTreeMap;

use rnix::ast::{self, HasEntry, InterpolPart};
use rnix::{NodeOrToken, ParseError, SyntaxKind, SyntaxNode, TextRange, TextSize};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::diag::{join_field as join_path, Diagnostic, Diagnostics, Location};

/// Reads a plain-data Nix file: its data, or every problem in it.
pub fn read(source: &str, file_name: &str) -> Result<Data, Diagnostics> {
    let (data, diagnostics) = read_plain_data(source, file_name);
    finish(data, diagnostics)
}

/// A value of a plain-data Nix file and where it was written.
#[derive(Debug, Clone)]
pub struct Data {
    pub at: Location,
    pub value: Value,
}

#[derive(Debug, Clone)]
pub enum Value {
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
pub struct Binding {
    pub name_at: Location,
    pub data: Data,
}

impl Value {
    pub fn is_invalid(&self) -> bool {
        matches!(self, Value::Invalid)
    }

    pub fn kind(&self) -> &'static str {
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

impl Data {}

/// rnix's parser recurses once per level of list nesting and per unary or right-associative
/// operator, with no limit of its own there; a deep enough input would overflow the stack. Plain
/// data nests a few levels and has no operators, so such input is refused before it is parsed.
const MAX_NESTING: usize = 100;
const MAX_OPERATORS: usize = 100;

/// Reads a plain-data Nix file. `None` when it is not valid Nix; otherwise the data, with
/// [`Value::Invalid`] wherever something is not plain data (and a diagnostic for each).
pub(crate) fn read_plain_data(source: &str, file_name: &str) -> (Option<Data>, Diagnostics) {
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

pub(crate) fn finish<T>(value: Option<T>, diagnostics: Diagnostics) -> Result<T, Diagnostics> {
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

pub(crate) fn error_at(at: &Location, path: &str, message: impl Into<String>) -> Diagnostic {
    let diagnostic = Diagnostic::error(message);
    if path.is_empty() {
        Diagnostic { location: Some(at.clone()), ..diagnostic }
    } else {
        diagnostic.at(Some(at.clone()), path)
    }
}

/// The JSON shape `nix-instantiate --eval --strict --json` gives, for cross-checks.
impl Serialize for Data {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.value {
            Value::Str(v) => s.serialize_str(v),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Null | Value::Invalid => s.serialize_unit(),
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Set(set) => {
                let mut map = s.serialize_map(Some(set.len()))?;
                for (name, binding) in set {
                    map.serialize_entry(name, &binding.data)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
