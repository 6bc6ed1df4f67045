//! Load: evaluate the Nickel platform and turn it into the typed model.
//!
//! This is the only stage that sees Nickel values or JSON. It hands on a [`Platform`] and a
//! [`SourceMap`] that remembers, for every field, where in which file its value was written, so
//! that later stages can point at the line a problem comes from.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use nickel_lang_core::error::report::{report_as_str, ColorOpt};
use nickel_lang_core::eval::cache::CacheImpl;
use nickel_lang_core::eval::value::{Container, NickelValue, ValueContentRef};
use nickel_lang_core::files::Files;
use nickel_lang_core::position::{PosTable, TermPos};
use nickel_lang_core::program::{Program, ProgramBuilder};

use crate::diag::{field_path, Diagnostic, Diagnostics, Location};
use crate::model::Platform;

/// The platform file obsc evaluates when none is given.
pub const DEFAULT_PLATFORM: &str = "environments/platform.ncl";

/// The evaluated, typed platform and where each of its values came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub platform: Platform,
    pub sources: SourceMap,
}

/// Field path -> source location of the value (and of the field name, for record keys).
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    values: HashMap<String, Location>,
    keys: HashMap<String, Location>,
    /// Every string value of the platform and its field path, in document order (for rules about
    /// all values, such as "no inline secrets").
    pub strings: Vec<(Vec<String>, String)>,
}

impl SourceMap {
    /// Where the value at `path` was written; falls back to the closest enclosing value with a
    /// known position, so a diagnostic always points somewhere useful.
    pub fn value(&self, path: &[&str]) -> Option<Location> {
        (1..=path.len()).rev().find_map(|n| {
            let key = field_path(&path[..n]);
            // A record made by merging has no single position; its field name still has one.
            self.values.get(&key).or_else(|| self.keys.get(&key)).cloned()
        })
    }

    /// Where the field name at the end of `path` was written (for errors about a name itself).
    pub fn key(&self, path: &[&str]) -> Option<Location> {
        self.keys.get(&field_path(path)).cloned().or_else(|| self.value(path))
    }
}

/// Evaluates `path` and all it imports; every problem comes back as diagnostics.
pub fn load(path: &Path) -> Result<Loaded, Diagnostics> {
    let fail = |d: Diagnostic| Err(Diagnostics(vec![d]));
    if !path.is_file() {
        return fail(
            Diagnostic::error(format!("cannot read the platform file `{}`", path.display()))
                .help("run obsc from the project root, or name the file with --platform"),
        );
    }
    preflight(path)?;
    let mut program: Program<CacheImpl> = match ProgramBuilder::new().add_path(path.as_os_str()).build() {
        Ok(program) => program,
        Err(e) => {
            let why = match e {
                nickel_lang_core::program::BuilderError::Io { error, .. } => error.to_string(),
                other => other.to_string(),
            };
            return fail(Diagnostic::error(format!("cannot read `{}`: {why}", display_path(path))));
        }
    };
    let value = match program.eval_full_for_export() {
        Ok(value) => value,
        Err(e) => {
            let calls = project_call_positions(&e, &program.files());
            let report = clean_report(&report_as_str(&mut program.files(), e, ColorOpt::Never));
            let mut d = nickel_diagnostic(&report);
            if let (false, Some((innermost, outer))) = (shows_a_project_file(&report), calls.split_first()) {
                // Nickel points only into its standard library (a broken regex in a contract):
                // the innermost call in the project's own files is where the user can act.
                d.location = Some(innermost.clone());
                let outer: Vec<String> = outer.iter().take(3).map(|l| format!("`{l}`")).collect();
                let reached =
                    if outer.is_empty() { String::new() } else { format!(", reached from {}", outer.join(", ")) };
                d.help = Some(format!(
                    "the error is inside Nickel's standard library, called from the project at the location above{reached}"
                ));
            }
            return fail(d);
        }
    };

    let files = program.files();
    let mut sources = SourceMap::default();
    let mut walker = Walker {
        table: program.pos_table(),
        files: &files,
        sources: &mut sources,
        path: Vec::new(),
        shown: Default::default(),
    };
    walker.walk(&value);
    let top = walker.location(value.pos(program.pos_table()));

    let json = match serde_json::to_value(&value) {
        Ok(json) => json,
        Err(e) => return fail(Diagnostic::error(format!("the platform cannot be exported as data: {e}"))),
    };
    collect_strings(&json, &mut Vec::new(), &mut sources.strings);
    if !json.is_object() {
        let what = match &json {
            serde_json::Value::Array(_) => "an array",
            serde_json::Value::String(_) => "a string",
            serde_json::Value::Number(_) => "a number",
            serde_json::Value::Bool(_) => "a boolean",
            _ => "null",
        };
        return fail(
            Diagnostic::error(format!("the platform evaluates to {what}, not a record"))
                .at(top, "")
                .help("the platform file must evaluate to the platform record, e.g. `(...) | platform.Platform` as in environments/platform.ncl"),
        );
    }
    match serde_path_to_error::deserialize::<_, Platform>(json) {
        Ok(platform) => Ok(Loaded { platform, sources }),
        Err(e) => {
            let segments: Vec<String> = e
                .path()
                .iter()
                .filter_map(|s| match s {
                    serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                    serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                    _ => None,
                })
                .collect();
            let refs: Vec<&str> = segments.iter().map(String::as_str).collect();
            let inner = e.inner().to_string();
            fail(
                Diagnostic::error(format!("the platform does not fit obsc's model: {inner}"))
                    .at(sources.value(&refs), field_path(&refs))
                    .help("compare the field with its contract in modules/; obsc rejects fields it does not know"),
            )
        }
    }
}

fn collect_strings(value: &serde_json::Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    match value {
        serde_json::Value::String(s) => out.push((path.clone(), s.clone())),
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(i.to_string());
                collect_strings(v, path, out);
                path.pop();
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                path.push(k.clone());
                collect_strings(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// How deep `{`, `[` and `(` may nest in a platform file. Real topologies nest a few levels;
/// evaluating and walking a value recurses once per level, so a deeper one (a generated file, a
/// bad merge) is refused before evaluation instead of overflowing the stack.
pub const MAX_NESTING: usize = 256;

/// Checks the platform file and every file it imports (by literal path) before Nickel sees
/// them: readable, UTF-8, nested no deeper than [`MAX_NESTING`].
fn preflight(entry: &Path) -> Result<(), Diagnostics> {
    let mut seen = std::collections::BTreeSet::new();
    // Each file with where it is imported (none for the platform file itself).
    let mut todo: Vec<(PathBuf, Option<Location>)> = vec![(entry.to_path_buf(), None)];
    let mut problems = Diagnostics::default();
    while let Some((file, imported_at)) = todo.pop() {
        let Ok(canonical) = file.canonicalize() else { continue };
        if !seen.insert(canonical) {
            continue;
        }
        let shown = display_path(&file);
        let bytes = match std::fs::read(&file) {
            Ok(bytes) => bytes,
            Err(e) => {
                let d = Diagnostic::error(format!("cannot read `{shown}`: {e}"));
                problems.push(match imported_at {
                    Some(at) => {
                        d.at(Some(at), "").help("import a Nickel file by its path, relative to the importing file")
                    }
                    None => d,
                });
                continue;
            }
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            Err(e) => {
                let before = &bytes[..e.valid_up_to()];
                let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
                let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
                problems.push(
                    Diagnostic::error(format!("`{shown}` is not UTF-8 text (byte {} is not)", e.valid_up_to()))
                        .at(Some(Location { file: shown, line: line as u32, column: column as u32 }), "")
                        .help("save the file as UTF-8; Nickel reads nothing else"),
                );
                continue;
            }
        };
        let scan = scan(text);
        if let Some((line, column)) = scan.too_deep {
            problems.push(
                Diagnostic::error(format!("`{shown}` nests values more than {MAX_NESTING} levels deep"))
                    .at(Some(Location { file: shown.clone(), line, column }), "")
                    .help("a topology nests a few levels; this looks generated or merged by mistake: flatten it"),
            );
        }
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        todo.extend(
            scan.imports
                .into_iter()
                .map(|(import, line, column)| (dir.join(import), Some(Location { file: shown.clone(), line, column }))),
        );
    }
    if problems.has_errors() {
        Err(problems)
    } else {
        Ok(())
    }
}

/// What [`preflight`] learns from one file's text.
#[derive(Debug, Default, PartialEq)]
struct Scan {
    /// Where nesting first passes the limit (1-based line and column).
    too_deep: Option<(u32, u32)>,
    /// The paths of `import "..."` with a literal path, and where each is written (1-based line
    /// and column of the opening quote).
    imports: Vec<(String, u32, u32)>,
}

/// A light lexer over Nickel text: skips comments and strings, counts brackets, finds imports.
fn scan(text: &str) -> Scan {
    let mut out = Scan::default();
    let chars: Vec<char> = text.chars().collect();
    let (mut line, mut column, mut depth) = (1u32, 1u32, 0usize);
    let mut i = 0;
    let advance = |c: char, line: &mut u32, column: &mut u32| {
        if c == '\n' {
            *line += 1;
            *column = 1;
        } else {
            *column += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        // A multiline string m%"...."% (with as many % as it opened with).
        if c == 'm' && chars.get(i + 1) == Some(&'%') {
            let mut percents = 0;
            let mut j = i + 1;
            while chars.get(j) == Some(&'%') {
                percents += 1;
                j += 1;
            }
            if chars.get(j) == Some(&'"') {
                let close: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('%', percents)).collect();
                let rest = &chars[j + 1..];
                let end = rest
                    .windows(close.len())
                    .position(|w| w == close.as_slice())
                    .map_or(rest.len(), |e| e + close.len());
                for &ch in rest[..end].iter().chain(&chars[i..=j]) {
                    advance(ch, &mut line, &mut column);
                }
                i = j + 1 + end;
                continue;
            }
        }
        if c == '"' {
            let start = i + 1;
            let (quote_line, quote_column) = (line, column);
            i += 1;
            advance(c, &mut line, &mut column);
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    advance(chars[i], &mut line, &mut column);
                    i += 1;
                }
                if i < chars.len() {
                    advance(chars[i], &mut line, &mut column);
                    i += 1;
                }
            }
            // Looks back from the quote, never copying what precedes it: a copy per string
            // made this scan quadratic in the file's size.
            let before = chars[..start.saturating_sub(1)].iter().rev().skip_while(|c| c.is_whitespace());
            if before.take(6).copied().eq("import".chars().rev()) {
                out.imports.push((chars[start..i.min(chars.len())].iter().collect(), quote_line, quote_column));
            }
            i += 1;
            column += 1;
            continue;
        }
        match c {
            '{' | '[' | '(' => {
                depth += 1;
                if depth > MAX_NESTING && out.too_deep.is_none() {
                    out.too_deep = Some((line, column));
                }
            }
            '}' | ']' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        advance(c, &mut line, &mut column);
        i += 1;
    }
    out
}

/// Makes Nickel's report the same on every machine: paths relative to the working directory,
/// and no excerpts of values generated during evaluation (they print closure addresses).
fn clean_report(report: &str) -> String {
    let cwd = std::env::current_dir().map(|d| format!("{}/", d.display())).unwrap_or_default();
    let mut out = Vec::new();
    let mut skipping = false;
    for line in report.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("┌─") {
            skipping = trimmed.contains("<unknown>");
        } else if trimmed.starts_with("= ")
            || (!trimmed.starts_with('│') && !trimmed.chars().next().is_some_and(|c| c.is_ascii_digit()))
        {
            skipping = false;
        }
        if !skipping {
            out.push(if cwd.len() > 1 { line.replace(&cwd, "") } else { line.to_string() });
        }
    }
    out.join("\n")
}

/// Whether a cleaned Nickel report shows an excerpt of a project file (`┌─ modules/x.ncl:3:5`),
/// not only of Nickel's standard library or of generated values (`<stdlib/std.ncl>`, `<unknown>`).
fn shows_a_project_file(report: &str) -> bool {
    report.lines().any(|l| l.trim_start().strip_prefix("┌─ ").is_some_and(|place| !place.starts_with('<')))
}

/// The positions of an evaluation error's call stack that are in project files, innermost first,
/// each once: the applications, variables and fields the evaluation was in when it failed.
fn project_call_positions(error: &nickel_lang_core::error::Error, files: &Files) -> Vec<Location> {
    use nickel_lang_core::eval::callstack::StackElem;
    let nickel_lang_core::error::Error::EvalError(data) = error else { return Vec::new() };
    let table = &data.ctxt.pos_table;
    let mut found: Vec<Location> = Vec::new();
    for elem in data.ctxt.call_stack.0.iter().rev() {
        let pos = match elem {
            StackElem::Fun(pos) | StackElem::App(pos) | StackElem::Var { pos, .. } => *pos,
            StackElem::Field { pos_access, .. } => *pos_access,
        };
        let Some(span) = table.get(pos).into_opt() else { continue };
        if files.is_stdlib(span.src_id) || files.name(span.src_id).to_string_lossy().starts_with('<') {
            continue;
        }
        if let Some(location) = span_location(files, span).filter(|l| !found.contains(l)) {
            found.push(location);
        }
    }
    found
}

/// Where a span starts, as a [`Location`].
fn span_location(files: &Files, span: nickel_lang_core::position::RawSpan) -> Option<Location> {
    let at = files.location(span.src_id, span.start).ok()?;
    Some(Location {
        file: display_path(Path::new(files.name(span.src_id))),
        line: at.line.to_usize() as u32 + 1,
        column: at.column.to_usize() as u32 + 1,
    })
}

/// Turns Nickel's own report (which already shows file, line and excerpt) into a diagnostic.
fn nickel_diagnostic(report: &str) -> Diagnostic {
    let mut lines = report.lines();
    let first = lines.next().unwrap_or("the platform does not evaluate");
    let message = first.strip_prefix("error: ").unwrap_or(first).to_string();
    let rest: Vec<&str> = lines.collect();
    let mut d = Diagnostic::error(message);
    d.report = Some(rest.join("\n"));
    d
}

struct Walker<'a> {
    table: &'a PosTable,
    files: &'a Files,
    sources: &'a mut SourceMap,
    path: Vec<String>,
    /// Each file's name as shown, worked out once: cleaning a path asks the system for the
    /// working directory, and a large platform has a position per value.
    shown: std::collections::HashMap<nickel_lang_core::files::FileId, std::rc::Rc<str>>,
}

impl Walker<'_> {
    fn walk(&mut self, value: &NickelValue) {
        match value.content_ref() {
            ValueContentRef::Record(Container::Alloc(record)) => {
                for (id, field) in &record.fields {
                    self.path.push(id.label().to_string());
                    let key = self.current();
                    if let Some(location) = self.location(id.pos) {
                        self.sources.keys.insert(key.clone(), location);
                    }
                    if let Some(v) = &field.value {
                        if let Some(location) = self.location(v.pos(self.table)) {
                            self.sources.values.insert(key, location);
                        }
                        self.walk(v);
                    }
                    self.path.pop();
                }
            }
            ValueContentRef::Array(Container::Alloc(array)) => {
                for (i, v) in array.array.iter().enumerate() {
                    self.path.push(i.to_string());
                    if let Some(location) = self.location(v.pos(self.table)) {
                        self.sources.values.insert(self.current(), location);
                    }
                    self.walk(v);
                    self.path.pop();
                }
            }
            _ => {}
        }
    }

    fn current(&self) -> String {
        let refs: Vec<&str> = self.path.iter().map(String::as_str).collect();
        field_path(&refs)
    }

    fn location(&mut self, pos: TermPos) -> Option<Location> {
        let span = pos.into_opt()?;
        let at = self.files.location(span.src_id, span.start).ok()?;
        let files = self.files;
        let file =
            self.shown.entry(span.src_id).or_insert_with(|| display_path(Path::new(files.name(span.src_id))).into());
        Some(Location {
            file: file.to_string(),
            line: at.line.to_usize() as u32 + 1,
            column: at.column.to_usize() as u32 + 1,
        })
    }
}

/// A source path as the user knows it: relative to the working directory, `..` folded away.
fn display_path(path: &Path) -> String {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    let mut clean = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    match std::env::current_dir().ok().and_then(|cwd| clean.strip_prefix(&cwd).ok().map(Path::to_path_buf)) {
        Some(relative) => relative.display().to_string(),
        None => clean.display().to_string(),
    }
}
