//! The `obsc` command: argument parsing, output and exit codes. The work is in the library.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use obsc::diag::Diagnostics;
use obsc::{diff, emit, load, pins, pipeline, Checked, Compiled};

/// Output that never panics: a closed pipe (`obsc pins | head`) just ends the output.
macro_rules! say {
    ($($arg:tt)*) => {{ let _ = writeln!(std::io::stdout(), $($arg)*); }};
}
macro_rules! say_raw {
    ($($arg:tt)*) => {{ let _ = write!(std::io::stdout(), $($arg)*); }};
}
macro_rules! complain {
    ($($arg:tt)*) => {{ let _ = write!(std::io::stderr(), $($arg)*); }};
}

/// obsc allocates millions of small strings and maps (labels, names, selectors): with mimalloc
/// a build at 5,000 namespaces spends about a fifth less CPU time than with glibc's allocator,
/// for about 7% more peak memory.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes, as `diff` users expect: 0 fine, 1 the input is invalid (or differs), 2 usage
/// or environment errors.
const INVALID: u8 = 1;
const TROUBLE: u8 = 2;

#[derive(Parser)]
#[command(name = "obsc", version, about = "Compile a Nickel observability topology into Kubernetes YAML per target")]
struct Cli {
    /// The platform file to evaluate.
    #[arg(long, global = true, default_value = load::DEFAULT_PLATFORM)]
    platform: PathBuf,
    /// The pure-data Nix file of image pins.
    #[arg(long, global = true, default_value = pins::DEFAULT_PINS)]
    pins: PathBuf,
    /// Colour diffs: auto (on a terminal), always, never.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Stop evaluating after this many seconds (an endless recursion in the topology never ends).
    #[arg(long, global = true, default_value_t = 30, value_name = "SECONDS")]
    max_eval_time: u64,
    /// Stop when obsc holds more than this much memory while it evaluates and compiles
    /// (`4GiB`, `512MiB`).
    #[arg(long, global = true, default_value = "4GiB", value_parser = parse_size, value_name = "SIZE")]
    max_memory: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DiffFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum GraphFormat {
    Mermaid,
    Dot,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate and check the whole platform; print every problem.
    Check,
    /// Render targets into OUT/<target>/.
    Build {
        /// Targets to render.
        targets: Vec<String>,
        /// Render every target.
        #[arg(long)]
        all: bool,
        /// Output directory.
        #[arg(short, long, default_value = "out")]
        out: PathBuf,
        /// Write nothing; compare the render with OUT and exit 1 if OUT is stale.
        #[arg(long)]
        check: bool,
    },
    /// Compare a target's render with a directory of YAML, object by object. Exit 0: same,
    /// 1: different, 2: error.
    Diff {
        target: String,
        /// A previous render or manifests exported from a cluster.
        #[arg(long)]
        against: PathBuf,
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
    },
    /// What promoting environment FROM to TO would change in TO: each environment's own objects
    /// with its name written `<env>`, compared as `diff` compares. Exit 0: same, 1: different,
    /// 2: error.
    Promote {
        from: String,
        to: String,
        #[arg(long, value_enum, default_value = "text")]
        format: DiffFormat,
    },
    /// Draw the platform: namespaces, collectors, signal flows, backends, storage.
    Graph {
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
        /// Also draw the cluster's monitoring stack and what it scrapes.
        #[arg(long)]
        with_monitoring: bool,
    },
    /// List the Secrets a target expects to exist (namespace, name, keys, readers).
    Secrets { target: String },
    /// Show what a target takes from each namespace's ResourceQuota: quota, steady use, rollout
    /// peak, free share, the largest consumers. `--request`: the text of a quota increase
    /// request for the namespaces that do not fit with headroom.
    Quota {
        target: String,
        #[arg(long, value_enum, default_value = "text")]
        format: DiffFormat,
        /// Print the quota increase request instead of the table.
        #[arg(long)]
        request: bool,
    },
    /// List the network flows the configs dial and the NetworkPolicies allow; `--outside`: only
    /// those with an end outside obsc's namespaces, whose owners must allow them.
    Flows {
        #[arg(long)]
        outside: bool,
    },
    /// Print the NetworkPolicies that namespaces obsc does not own must apply for a target's
    /// flows to pass (Grafana admitted to in-cluster services there), as YAML for their owners.
    OwnerPolicies { target: String },
    /// Print the Helm values (Faro settings, OTEL ConfigMap name) of one service.
    AppValues {
        /// `<namespace>/<service>`.
        service: String,
    },
    /// List the targets, one per line.
    Targets,
    /// List every image pin, its version beside the flake's validator of it, and its users.
    Pins,
}

/// `4GiB`, `512MiB`, `100KiB` or a number of bytes.
fn parse_size(text: &str) -> Result<u64, String> {
    let (number, unit) = text.find(|c: char| !c.is_ascii_digit()).map(|i| text.split_at(i)).unwrap_or((text, ""));
    let scale: u64 = match unit {
        "" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return Err(format!("`{text}` is not a size: write e.g. 4GiB or 512MiB")),
    };
    number.parse::<u64>().ok().and_then(|n| n.checked_mul(scale)).ok_or_else(|| format!("`{text}` is not a size"))
}

/// While this is set, the platform is being evaluated and compiled (nothing is written yet):
/// the watchdog in [`main`] may stop the process.
static COMPILING: AtomicBool = AtomicBool::new(false);

/// The stack of the thread that does the work: Nickel's evaluator and the deserializer recurse
/// once per nesting level, and the depth the loader admits must fit.
const WORKER_STACK: usize = 512 << 20;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (time, memory) = (Duration::from_secs(cli.max_eval_time), cli.max_memory);
    let (done, result) = mpsc::channel();
    let worker = std::thread::Builder::new().stack_size(WORKER_STACK).spawn(move || {
        let _ = done.send(finish(run(&cli)));
    });
    if let Err(e) = worker {
        complain!("error: cannot start a worker thread: {e}\n");
        return ExitCode::from(TROUBLE);
    }
    let started = Instant::now();
    loop {
        match result.recv_timeout(Duration::from_millis(25)) {
            Ok(code) => return ExitCode::from(code),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                complain!("error: obsc stopped unexpectedly\n   = help: this is a bug in obsc: please report it with the platform that shows it\n");
                return ExitCode::from(TROUBLE);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if !COMPILING.load(Ordering::SeqCst) {
            continue;
        }
        if started.elapsed() > time {
            stop(&format!(
                "evaluating the platform took longer than {} s (--max-eval-time)\n   = help: the usual cause is a function that calls itself without end (an infinite recursion); if the platform is really this large, raise --max-eval-time",
                time.as_secs()
            ));
        }
        if let Some(rss) = resident_bytes().filter(|r| *r > memory) {
            stop(&format!(
                "evaluating the platform used {} MiB, more than the {} MiB allowed (--max-memory)\n   = help: the usual cause is a function that calls itself without end or builds an endless list; if the platform is really this large, raise --max-memory",
                rss.div_ceil(1 << 20),
                memory >> 20
            ));
        }
    }
}

/// Ends the process with a diagnostic while nothing has been written.
fn stop(message: &str) -> ! {
    complain!("error: {message}\nnothing was written\n");
    std::process::exit(i32::from(INVALID));
}

/// The process's resident memory, where the system tells it (Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib << 10)
}

fn finish(result: Result<u8, Failure>) -> u8 {
    match result {
        Ok(code) => code,
        Err(Failure::Invalid(d)) => {
            complain!("{}", d.render());
            INVALID
        }
        Err(Failure::Error(d)) => {
            complain!("{}", d.render());
            TROUBLE
        }
        Err(Failure::Trouble(message)) => {
            complain!("error: {message}\n");
            TROUBLE
        }
    }
}

enum Failure {
    Invalid(Diagnostics),
    /// Diagnostics that mean "could not do it" rather than "the input is invalid" (diff's 2).
    Error(Diagnostics),
    Trouble(String),
}

/// The compiled platform lives until the process ends: it is never dropped, because freeing a
/// large plan object by object took a tenth of a build's time and the exit frees it at once.
fn compile(cli: &Cli) -> Result<&'static Compiled, Failure> {
    COMPILING.store(true, Ordering::SeqCst);
    let compiled = obsc::compile(&cli.platform, &cli.pins);
    COMPILING.store(false, Ordering::SeqCst);
    Ok(Box::leak(Box::new(compiled.map_err(Failure::Invalid)?)))
}

/// The checked platform, for the commands that stream its plan (`check`, `build`). The limits on evaluation time and memory hold until here; rendering in parts
/// is bounded by the checked platform, and may be writing the staging directories, which a
/// stop at a limit would leave behind.
fn checked(cli: &Cli) -> Result<&'static Checked, Failure> {
    COMPILING.store(true, Ordering::SeqCst);
    let checked = obsc::check(&cli.platform, &cli.pins);
    COMPILING.store(false, Ordering::SeqCst);
    Ok(Box::leak(Box::new(checked.map_err(Failure::Invalid)?)))
}

/// `check` and `build` report the warnings about the topology, once its plan is proved; the
/// commands that only read the compiled platform stay quiet.
fn warn(topology: &Diagnostics, plan: &Diagnostics) {
    let mut all = Diagnostics(topology.0.iter().chain(&plan.0).cloned().collect());
    all.sort();
    for w in all.warnings() {
        complain!("{}", w.render());
    }
}

/// A streamed plan that failed: collecting or counting never stops, so only a plan problem can.
fn streaming(f: pipeline::Failure) -> Failure {
    match f {
        pipeline::Failure::Invalid(d) => Failure::Invalid(d),
        pipeline::Failure::Stopped => Failure::Trouble("bug: the plan's receiver stopped".to_string()),
    }
}

/// Why a build wrote nothing, as the command reports it.
fn unwritten(e: emit::WriteError, out: &Path) -> Failure {
    match e {
        emit::WriteError::Invalid(d) => Failure::Invalid(d),
        emit::WriteError::Refused(problems) => Failure::Trouble(format!(
            "{}\nnothing was written: `{}` is as it was",
            problems.join("\nerror: "),
            out.display()
        )),
    }
}

fn run(cli: &Cli) -> Result<u8, Failure> {
    match &cli.command {
        Command::Check => {
            let checked = checked(cli)?;
            let count = pipeline::Count::default();
            let streamed = checked.stream(&count).map_err(streaming)?;
            warn(&checked.warnings, &streamed.warnings);
            std::mem::forget(streamed);
            let p = &checked.loaded.platform;
            say!(
                "ok: {} environments, {} managed namespaces, {} targets, {} objects",
                p.environments.len(),
                p.namespaces.len(),
                p.targets.len(),
                count.0.into_inner()
            );
            Ok(0)
        }
        Command::Build { targets, all, out, check: true } => {
            let compiled = compile(cli)?;
            warn(&compiled.warnings, &Diagnostics::default());
            let chosen = choose_targets(&compiled.loaded.platform, targets, *all)?;
            let mut rendered = BTreeMap::new();
            for name in &chosen {
                let files = emit::files(&compiled.plan.targets[name]).map_err(Failure::Invalid)?;
                rendered.insert(name.clone(), files);
            }
            check_render(cli, compiled, out, &rendered)
        }
        Command::Build { targets, all, out, check: false } => {
            let checked = checked(cli)?;
            let chosen = choose_targets(&checked.loaded.platform, targets, *all)?;
            let names: Vec<&str> = chosen.iter().map(String::as_str).collect();
            let root = obsc::dashboards::project_root(&cli.platform);
            // The output directory is refused before any work; each verified part is written
            // into the staging directories as it comes; dropped on a failure, they go.
            let staging = emit::Staging::open(out, &root, &names, &emit::Disk).map_err(|e| unwritten(e, out))?;
            match checked.stream(&staging) {
                Ok(streamed) => {
                    warn(&checked.warnings, &streamed.warnings);
                    std::mem::forget(streamed);
                }
                Err(pipeline::Failure::Invalid(d)) => return Err(Failure::Invalid(d)),
                Err(pipeline::Failure::Stopped) => {
                    let e = staging.failure().unwrap_or_else(|| {
                        emit::WriteError::Refused(vec!["bug: the build stopped without a reason".to_string()])
                    });
                    return Err(unwritten(e, out));
                }
            }
            let counts = staging.commit().map_err(|e| unwritten(e, out))?;
            for name in &chosen {
                say!("{}: {} files", Path::new(out).join(name).display(), counts.get(name).unwrap_or(&0));
            }
            Ok(0)
        }
        Command::Diff { target, against, format } => {
            // diff's exit 1 means "different"; an input it cannot compile is an error (2).
            let compiled = compile(cli).map_err(|f| match f {
                Failure::Invalid(d) => Failure::Error(d),
                other => other,
            })?;
            let chosen = choose_targets(&compiled.loaded.platform, std::slice::from_ref(target), false)?;
            let objects = &compiled.plan.targets[&chosen[0]].objects;
            if !against.is_dir() {
                return Err(Failure::Trouble(format!("`{}` is not a directory", against.display())));
            }
            let diff = diff::compare(target, objects, against).map_err(Failure::Error)?;
            match format {
                DiffFormat::Text => say_raw!("{}", diff.render(use_color(cli))),
                DiffFormat::Json => say!("{}", serde_json::to_string_pretty(&diff).unwrap_or_default()),
            }
            Ok(if diff.is_empty() { 0 } else { INVALID })
        }
        Command::Promote { from, to, format } => {
            let compiled = compile(cli).map_err(|f| match f {
                Failure::Invalid(d) => Failure::Error(d),
                other => other,
            })?;
            let diff = diff::promotion(&compiled.loaded.platform, &compiled.plan, from, to).map_err(Failure::Error)?;
            match format {
                DiffFormat::Text => say_raw!("{}", diff.render(use_color(cli))),
                DiffFormat::Json => say!("{}", serde_json::to_string_pretty(&diff).unwrap_or_default()),
            }
            Ok(if diff.is_empty() { 0 } else { INVALID })
        }
        Command::Graph { format, with_monitoring } => {
            let compiled = compile(cli)?;
            let mut graph = obsc::graph::Graph::of(&compiled.loaded.platform);
            if *with_monitoring {
                graph = graph.with_monitoring(&compiled.loaded.platform);
            }
            say_raw!(
                "{}",
                match format {
                    GraphFormat::Mermaid => graph.mermaid(),
                    GraphFormat::Dot => graph.dot(),
                }
            );
            Ok(0)
        }
        Command::Secrets { target } => {
            let compiled = compile(cli)?;
            let chosen = choose_targets(&compiled.loaded.platform, std::slice::from_ref(target), false)?;
            let known = obsc::secrets::known(&compiled.loaded.platform);
            let expected = obsc::secrets::inventory(&compiled.plan.targets[&chosen[0]].objects, &known);
            if expected.is_empty() {
                say!("target `{target}` expects no Secrets");
            }
            for e in expected {
                let s = &e.secret;
                say!("{}/{}", s.namespace, s.name);
                say!("    keys:    {}", s.keys.join(", "));
                say!("    read by: {}", e.readers.join(", "));
                say!("    holds:   {}", s.purpose);
                if let Some(hint) = &s.hint {
                    for line in hint.lines() {
                        say!("    {line}");
                    }
                }
            }
            Ok(0)
        }
        Command::Quota { target, format, request } => {
            let checked = checked(cli)?;
            let chosen = choose_targets(&checked.loaded.platform, std::slice::from_ref(target), false)?;
            let ran = checked.run(&pipeline::Count::default()).map_err(streaming)?;
            let report = obsc::budget::report::Report::of(&checked.loaded.platform, &chosen[0], &ran.usage);
            std::mem::forget(ran);
            match (format, request) {
                (DiffFormat::Json, _) => say!("{}", serde_json::to_string_pretty(&report).unwrap_or_default()),
                (DiffFormat::Text, false) => say_raw!("{}", report.text()),
                (DiffFormat::Text, true) => {
                    let text = report.request();
                    if text.is_empty() {
                        say!("every namespace of target `{target}` fits its quota with headroom: nothing to request");
                    } else {
                        say_raw!("{text}");
                    }
                }
            }
            Ok(0)
        }
        Command::Flows { outside } => {
            let compiled = compile(cli)?;
            let rendered: std::collections::BTreeSet<&str> =
                compiled.plan.targets.values().flat_map(|t| t.objects.iter().map(|o| o.namespace())).collect();
            let inside = |e: &obsc::plan::Endpoint| match e {
                obsc::plan::Endpoint::Pods { namespace, .. } => rendered.contains(namespace.as_str()),
                obsc::plan::Endpoint::Address { .. } => false,
            };
            for f in &compiled.plan.flows {
                let external = !inside(&f.from) || !inside(&f.to);
                if *outside && !external {
                    continue;
                }
                let mark = if external { "  [outside obsc]" } else { "" };
                say!("{} -> {} {}/{}: {}{mark}", f.from, f.to, f.port, f.protocol.as_str(), f.why);
            }
            Ok(0)
        }
        Command::OwnerPolicies { target } => {
            let compiled = compile(cli)?;
            let chosen = choose_targets(&compiled.loaded.platform, std::slice::from_ref(target), false)?;
            let needed = obsc::render::grafana::network::owner_policies(&compiled.loaded.platform, &chosen[0]);
            if needed.is_empty() {
                say!("# target `{target}` needs no policy from the owners of other namespaces");
            }
            for (i, a) in needed.iter().enumerate() {
                let text = obsc::serial::yaml(&a.policy).map_err(|e| Failure::Trouble(e.to_string()))?;
                if i > 0 {
                    say!("---");
                }
                say!(
                    "# for the owner of namespace `{}`: admits Grafana `{}` to its {}",
                    a.namespace,
                    a.grafana,
                    a.dependency.title()
                );
                say_raw!("{text}");
            }
            Ok(0)
        }
        Command::AppValues { service } => {
            let compiled = compile(cli)?;
            let p = &compiled.loaded.platform;
            let Some((ns_name, svc_name)) = service.split_once('/') else {
                return Err(Failure::Trouble(format!("name the service as <namespace>/<service>, not `{service}`")));
            };
            let ns = p
                .namespaces
                .get(ns_name)
                .ok_or_else(|| Failure::Trouble(format!("`{ns_name}` is not a managed namespace")))?;
            let svc = ns.services.get(svc_name).ok_or_else(|| {
                let known: Vec<&str> = ns.services.keys().map(String::as_str).collect();
                Failure::Trouble(format!(
                    "namespace `{ns_name}` has no service `{svc_name}` (services: {})",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ))
            })?;
            let values = obsc::render::services::values(ns_name, svc_name, svc)
                .map_err(|d| Failure::Error(obsc::diag::Diagnostics(vec![*d])))?;
            say_raw!("{values}");
            Ok(0)
        }
        Command::Targets => {
            COMPILING.store(true, Ordering::SeqCst);
            let loaded = load::load(&cli.platform);
            COMPILING.store(false, Ordering::SeqCst);
            let loaded = loaded.map_err(Failure::Invalid)?;
            let mut stdout = std::io::stdout().lock();
            for name in loaded.platform.targets.keys() {
                let _ = writeln!(stdout, "{name}");
            }
            Ok(0)
        }
        Command::Pins => {
            let compiled = compile(cli)?;
            let users = compiled.plan.image_users();
            let mut broken = Vec::new();
            for (name, pin) in &compiled.pins.images {
                let reference = pin.reference();
                let used = users.get(&reference).map(Vec::as_slice).unwrap_or_default();
                say!("{name}  {reference}");
                // The version the image runs and the one `nix flake check` validates its
                // configs with, right under the reference, so that a skew cannot go unseen.
                let (validation, holds) = pin.validation_lines();
                for line in validation {
                    say!("  {line}");
                }
                if !holds {
                    broken.push(name.as_str());
                }
                if used.is_empty() {
                    say!("    (not used by any target)");
                }
                for u in used {
                    say!("    {u}");
                }
            }
            if broken.is_empty() {
                return Ok(0);
            }
            complain!(
                "error: the validator record of {} breaks the flake's version rule (nix/validators.nix); \
                 `nix flake check` fails until it is fixed in the pins file\n",
                broken.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
            );
            Ok(INVALID)
        }
    }
}

/// `build --check`: is the directory exactly what obsc would write? Prints what differs.
fn check_render(
    cli: &Cli,
    compiled: &Compiled,
    out: &Path,
    rendered: &BTreeMap<String, emit::Files>,
) -> Result<u8, Failure> {
    let mut stale = false;
    for (name, files) in rendered {
        let dir = out.join(name);
        let objects = &compiled.plan.targets[name].objects;
        let found = diff::freshness(name, objects, files, &dir).map_err(Failure::Invalid)?;
        if found.is_fresh() {
            say!("{}: up to date", dir.display());
            continue;
        }
        stale = true;
        say!("{}: stale", dir.display());
        say_raw!("{}", found.objects.render(use_color(cli)));
        for p in found.other_files {
            say!("  file differs: {p}");
        }
    }
    Ok(if stale { INVALID } else { 0 })
}

fn use_color(cli: &Cli) -> bool {
    match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

fn choose_targets(platform: &obsc::model::Platform, targets: &[String], all: bool) -> Result<Vec<String>, Failure> {
    let known: Vec<String> = platform.targets.keys().cloned().collect();
    if all {
        return Ok(known);
    }
    if targets.is_empty() {
        return Err(Failure::Trouble(format!("name a target or pass --all (targets: {})", known.join(", "))));
    }
    for t in targets {
        if !known.contains(t) {
            return Err(Failure::Trouble(format!("unknown target `{t}` (targets: {})", known.join(", "))));
        }
    }
    Ok(targets.to_vec())
}
