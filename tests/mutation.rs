//! Mutants of the shipped topology: whatever one slip of the keyboard does to a file of
//! `environments/` or `modules/`, obsc neither crashes nor leaves the user without a place to
//! look. Each case copies the project, applies one random mutation to one file (a token
//! deleted, duplicated or swapped with its neighbour, a number or string changed, a bracket
//! deleted or inserted) and runs `obsc check` (and, for a quarter of the mutants it accepts,
//! `obsc build --all`):
//!
//! - the process ends by itself with exit 0 (the mutant is still a valid platform) or 1 (it is
//!   not), never 2 (obsc's "stopped unexpectedly"), a signal or a panic;
//! - with exit 1, every `error:` diagnostic names a project file and a line: a `--> file:line:col`
//!   line (obsc's own diagnostics) or a `┌─ file:line:col` line (Nickel's reports), where `file`
//!   is not Nickel's standard library or a generated value (`<stdlib/std.ncl>`, `<unknown>`).
//!
//! Deterministic: the cases come from a fixed seed. `OBSC_MUTATIONS=N` runs N cases instead of
//! the default (sized for a debug build in CI), `OBSC_MUTATION_SEED=S` draws another set, and a
//! failure names the case, the file, the line and the mutation, so it can be replayed by hand.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use common::{copy_tree, root, text};

/// Cases run by default: 5 s of a debug build on two idle cores, 13 s on busy ones.
const DEFAULT_CASES: usize = 150;
const DEFAULT_SEED: u64 = 0x0b5c_1313;

/// SplitMix64: a small, fixed PRNG, so a seed draws the same cases on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Ident,
    Number,
    Str,
    Bracket,
    Punct,
}

/// A token of Nickel source: its kind and byte range.
#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

/// A lexer good enough to cut Nickel into tokens (comments and blanks between them dropped).
fn tokens(src: &str) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        } else if c == b'm' && b.get(i + 1) == Some(&b'%') {
            // m%"..."% with any number of %.
            let mut j = i + 1;
            while b.get(j) == Some(&b'%') {
                j += 1;
            }
            let close = format!("\"{}", "%".repeat(j - i - 1));
            let end = src[j + 1..].find(&close).map(|e| j + 1 + e + close.len()).unwrap_or(b.len());
            i = end;
            Kind::Str
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            Kind::Str
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                i += 1;
            }
            Kind::Number
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b'\'' {
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'-' | b'\'')) {
                i += 1;
            }
            Kind::Ident
        } else if matches!(c, b'{' | b'}' | b'[' | b']' | b'(' | b')') {
            i += 1;
            Kind::Bracket
        } else {
            const OPERATORS: [&str; 11] = ["=>", "->", "==", "!=", "<=", ">=", "&&", "||", "|>", "..", "|]"];
            let len = OPERATORS.iter().find(|op| src[i..].starts_with(*op)).map(|op| op.len());
            // One character, whole (the topology is UTF-8 and may hold non-ASCII text).
            i += len.unwrap_or_else(|| src[i..].chars().next().map_or(1, char::len_utf8));
            Kind::Punct
        };
        out.push(Token { kind, start, end: i });
    }
    out
}

/// One mutation: the new text and what was done, for the failure message.
struct Mutant {
    text: String,
    what: String,
}

const NUMBERS: [&str; 14] = [
    "0",
    "-1",
    "1",
    "2",
    "3",
    "100",
    "1.5",
    "1024",
    "65535",
    "65536",
    "4294967296",
    "1e308",
    "99999999999999999999999",
    "0.0000001",
];
const STRINGS: [&str; 16] = [
    "\"\"",
    "\"a\"",
    "\"24h\"",
    "\"1w\"",
    "\"1Mi\"",
    "\"x\"",
    "\"Upper_Case\"",
    "\"0h\"",
    "\"1h\"",
    "\"a.b\"",
    "\"../..\"",
    "\"-\"",
    "\"caf\u{e9}\"",
    "\"%{\"",
    "\"([\"",
    "\"\\u{0}\"",
];
const BRACKETS: [&str; 6] = ["{", "}", "[", "]", "(", ")"];

/// The mutations, each with its weight: the value changes come more often, since they keep the
/// file's syntax and so reach the checker, the renderer and the plan's verification.
const MUTATIONS: [(Mutation, usize); 8] = [
    (Mutation::Delete, 2),
    (Mutation::Duplicate, 1),
    (Mutation::Swap, 1),
    (Mutation::Number, 3),
    (Mutation::String, 3),
    (Mutation::OtherString, 3),
    (Mutation::DeleteBracket, 1),
    (Mutation::InsertBracket, 1),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mutation {
    Delete,
    Duplicate,
    Swap,
    /// A number becomes another (zero, negative, fractional, huge).
    Number,
    /// A string becomes one of [`STRINGS`].
    String,
    /// A string becomes another string of the same file (a name where another is expected).
    OtherString,
    DeleteBracket,
    InsertBracket,
}

fn mutate(rng: &mut Rng, src: &str) -> Mutant {
    let toks = tokens(src);
    let line = |at: usize| src[..at].matches('\n').count() + 1;
    let splice = |start: usize, end: usize, with: &str| format!("{}{with}{}", &src[..start], &src[end..]);
    let short = |t: &Token| src[t.start..t.end].chars().take(40).collect::<String>();
    let of_kind = |kind: Kind| toks.iter().filter(|t| t.kind == kind).copied().collect::<Vec<Token>>();
    let total: usize = MUTATIONS.iter().map(|(_, w)| w).sum();
    let mut roll = rng.below(total);
    let mutation = MUTATIONS
        .iter()
        .find(|(_, w)| {
            let hit = roll < *w;
            roll = roll.saturating_sub(*w);
            hit
        })
        .map_or(Mutation::Delete, |(m, _)| *m);
    // The tokens the mutation applies to (any token when the file has none of its kind).
    let candidates = match mutation {
        Mutation::Number => of_kind(Kind::Number),
        Mutation::String | Mutation::OtherString => of_kind(Kind::Str),
        Mutation::DeleteBracket => of_kind(Kind::Bracket),
        _ => Vec::new(),
    };
    let (mutation, t) = if !candidates.is_empty() {
        (mutation, *rng.pick(&candidates))
    } else if matches!(mutation, Mutation::Number | Mutation::String | Mutation::OtherString | Mutation::DeleteBracket)
    {
        (Mutation::Delete, *rng.pick(&toks))
    } else {
        (mutation, *rng.pick(&toks))
    };
    let at = format!("line {}", line(t.start));
    let shown = short(&t);
    let (with, what) = match mutation {
        Mutation::Delete | Mutation::DeleteBracket => (String::new(), format!("delete `{shown}`")),
        Mutation::Duplicate => (format!("{0} {0}", &src[t.start..t.end]), format!("duplicate `{shown}`")),
        Mutation::Swap => match toks.iter().find(|n| n.start >= t.end) {
            Some(next) => {
                let swapped =
                    format!("{}{}{}", &src[next.start..next.end], &src[t.end..next.start], &src[t.start..t.end]);
                let text = splice(t.start, next.end, &swapped);
                return Mutant { text, what: format!("{at}: swap `{shown}` and `{}`", short(next)) };
            }
            None => (String::new(), format!("delete `{shown}` (the last token)")),
        },
        Mutation::Number => {
            let n = rng.pick(&NUMBERS);
            (n.to_string(), format!("number `{shown}` -> {n}"))
        }
        Mutation::String => {
            let s = rng.pick(&STRINGS);
            (s.to_string(), format!("string `{shown}` -> {s}"))
        }
        Mutation::OtherString => {
            let other = *rng.pick(&of_kind(Kind::Str));
            (src[other.start..other.end].to_string(), format!("string `{shown}` -> `{}`", short(&other)))
        }
        Mutation::InsertBracket => {
            let b = rng.pick(&BRACKETS);
            (format!("{b} {}", &src[t.start..t.end]), format!("insert `{b}` before `{shown}`"))
        }
    };
    Mutant { text: splice(t.start, t.end, &with), what: format!("{at}: {what}") }
}

/// The files a mutation may touch, relative to the project root, sorted.
fn mutable_files() -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["environments", "modules"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "ncl") {
                files.push(format!("{dir}/{}", path.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    files.sort();
    files
}

/// A copy of what `obsc check` reads: the topology, the dashboards and the pins.
fn project_copy() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("mutation-").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    for sub in ["environments", "modules", "dashboards"] {
        copy_tree(&root().join(sub), &dir.path().join(sub));
    }
    std::fs::create_dir_all(dir.path().join("nix")).unwrap();
    std::fs::copy(root().join("nix/pins.nix"), dir.path().join("nix/pins.nix")).unwrap();
    dir
}

/// Whether a location line names a project file and a line: `file:line:col` after `-->` or
/// Nickel's `┌─`, with `file` a real path (not `<stdlib/std.ncl>` or `<unknown>`).
fn names_a_place(line: &str) -> bool {
    let line = line.trim_start();
    let Some(place) = line.strip_prefix("--> ").or_else(|| line.strip_prefix("┌─ ")) else { return false };
    let mut parts = place.trim().rsplitn(3, ':');
    let (column, row, file) = (parts.next(), parts.next(), parts.next());
    let number = |s: Option<&str>| s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    number(column) && number(row) && file.is_some_and(|f| !f.is_empty() && !f.starts_with('<'))
}

/// The `error:` diagnostics of stderr without a place in a project file (their first lines).
fn unplaced_errors(stderr: &str) -> Vec<String> {
    let mut unplaced = Vec::new();
    let mut current: Option<(String, bool)> = None;
    for line in stderr.lines().chain(std::iter::once("end")) {
        if !line.starts_with(' ') {
            if let Some((head, false)) = current.take() {
                unplaced.push(head);
            }
            current = line.starts_with("error:").then(|| (line.to_string(), false));
        } else if let Some((_, placed)) = &mut current {
            *placed |= names_a_place(line);
        }
    }
    unplaced
}

/// What is wrong with obsc's answer to a mutant, if anything.
fn judge(code: Option<i32>, stderr: &str) -> Option<String> {
    if stderr.contains("panicked at") || stderr.contains("stopped unexpectedly") {
        return Some(format!("obsc crashed (exit {code:?})"));
    }
    match code {
        Some(0) => None,
        Some(1) => {
            let unplaced = unplaced_errors(stderr);
            (!unplaced.is_empty()).then(|| format!("errors without a file and line: {unplaced:?}"))
        }
        other => Some(format!("exit {other:?}, expected 0 or 1")),
    }
}

#[test]
fn diagnostics_are_located() {
    assert!(names_a_place("  --> environments/dev.ncl:14:16"));
    assert!(names_a_place("     ┌─ modules/names.ncl:9:5"));
    assert!(!names_a_place("     ┌─ <stdlib/std.ncl>:4741:7"));
    assert!(!names_a_place("   = field: a.b"));
    let placed =
        "error: bad\n  --> environments/dev.ncl:1:2\n   = help: x\nerror: worse\n     ┌─ a.ncl:3:4\n2 errors\n";
    assert!(unplaced_errors(placed).is_empty());
    let unplaced = "error: internal error: x\n   = help: a bug\nwarning: w\n  --> a.ncl:1:1\n1 error\n";
    assert_eq!(unplaced_errors(unplaced), vec!["error: internal error: x"]);
    assert_eq!(judge(Some(2), ""), Some("exit Some(2), expected 0 or 1".into()));
    assert!(judge(None, "").is_some(), "a signal");
}

#[test]
fn the_lexer_cuts_nickel_into_tokens() {
    let src = "{ a-b = \"x\\\"y\", n = 1.5, t = 'go, s = m%\"\n  q \"%, # c\n f = fun x => x }";
    let cut: Vec<&str> = tokens(src).iter().map(|t| &src[t.start..t.end]).collect();
    assert_eq!(
        cut,
        [
            "{",
            "a-b",
            "=",
            "\"x\\\"y\"",
            ",",
            "n",
            "=",
            "1.5",
            ",",
            "t",
            "=",
            "'go",
            ",",
            "s",
            "=",
            "m%\"\n  q \"%",
            ",",
            "f",
            "=",
            "fun",
            "x",
            "=>",
            "x",
            "}"
        ]
    );
}

#[test]
fn mutants_of_the_topology_never_crash_and_always_say_where() {
    let cases = std::env::var("OBSC_MUTATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(DEFAULT_CASES);
    let seed = std::env::var("OBSC_MUTATION_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or(DEFAULT_SEED);
    let files = mutable_files();
    assert!(files.len() >= 10, "the shipped topology: {files:?}");
    let originals: Vec<String> = files.iter().map(|f| std::fs::read_to_string(root().join(f)).unwrap()).collect();

    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let valid = AtomicUsize::new(0);
    let started = Instant::now();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let copy = project_copy();
                loop {
                    let case = next.fetch_add(1, Ordering::SeqCst);
                    if case >= cases {
                        break;
                    }
                    // Each case has its own stream, so a case is the same whatever thread runs it.
                    let mut rng = Rng(seed ^ (case as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
                    let index = rng.below(files.len());
                    let mutant = mutate(&mut rng, &originals[index]);
                    let path: PathBuf = copy.path().join(&files[index]);
                    std::fs::write(&path, &mutant.text).unwrap();
                    let run = |args: &[&str]| {
                        let output = Command::new(env!("CARGO_BIN_EXE_obsc"))
                            .current_dir(copy.path())
                            .env("NO_COLOR", "1")
                            .args(args)
                            .output()
                            .expect("obsc runs");
                        (output.status.code(), text(&output.stderr))
                    };
                    let mut runs = vec![("check", run(&["check"]))];
                    // A quarter of the mutants that still check are also built: emit sees them too.
                    if runs[0].1 .0 == Some(0) {
                        valid.fetch_add(1, Ordering::SeqCst);
                        if case.is_multiple_of(4) {
                            runs.push(("build --all", run(&["build", "--all", "-o", "out"])));
                        }
                    }
                    std::fs::write(&path, &originals[index]).unwrap();
                    for (command, (code, stderr)) in runs {
                        if let Some(why) = judge(code, &stderr) {
                            failures.lock().unwrap().push(format!(
                                "case {case} (seed {seed}), {} {}: obsc {command}: {why}\n{stderr}",
                                files[index], mutant.what
                            ));
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    eprintln!(
        "{cases} mutants in {:.1} s ({} still valid), {} failures",
        started.elapsed().as_secs_f64(),
        valid.load(Ordering::SeqCst),
        failures.len()
    );
    assert!(failures.is_empty(), "{} of {cases} mutants failed:\n\n{}", failures.len(), failures.join("\n"));
}
