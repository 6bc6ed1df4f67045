//! The `obsc` command: argument parsing, output and exit codes. The work is in the library.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use obsc::diag::Diagnostics;
use obsc::{emit, load, pins, Compiled};

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
    #[command(subcommand)]
    command: Command,
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
    /// List the targets, one per line.
    Targets,
    /// List every image pin and the objects that use it.
    Pins,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Invalid(d)) => {
            eprint!("{}", d.render());
            ExitCode::from(INVALID)
        }
        Err(Failure::Trouble(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(TROUBLE)
        }
    }
}

enum Failure {
    Invalid(Diagnostics),
    Trouble(String),
}

fn compile(cli: &Cli) -> Result<Compiled, Failure> {
    let compiled = obsc::compile(&cli.platform, &cli.pins).map_err(Failure::Invalid)?;
    for w in compiled.warnings.warnings() {
        eprint!("{}", w.render());
    }
    Ok(compiled)
}

fn run(cli: &Cli) -> Result<u8, Failure> {
    match &cli.command {
        Command::Check => {
            let compiled = compile(cli)?;
            let p = &compiled.loaded.platform;
            let objects: usize = compiled.plan.targets.values().map(|t| t.objects.len()).sum();
            println!(
                "ok: {} environments, {} managed namespaces, {} targets, {objects} objects",
                p.environments.len(),
                p.namespaces.len(),
                compiled.plan.targets.len()
            );
            Ok(0)
        }
        Command::Build { targets, all, out, check } => {
            let compiled = compile(cli)?;
            let chosen = choose_targets(&compiled, targets, *all)?;
            let mut rendered = BTreeMap::new();
            for name in &chosen {
                let files = emit::files(&compiled.plan.targets[name]).map_err(Failure::Invalid)?;
                rendered.insert(name.clone(), files);
            }
            if *check {
                return Ok(check_render(out, &rendered));
            }
            emit::write(out, &rendered)
                .map_err(|e| Failure::Trouble(format!("cannot write `{}`: {e}", out.display())))?;
            for (name, files) in &rendered {
                println!("{}: {} files", Path::new(out).join(name).display(), files.len());
            }
            Ok(0)
        }
        Command::Targets => {
            let loaded = load::load(&cli.platform).map_err(Failure::Invalid)?;
            let mut stdout = std::io::stdout().lock();
            for name in loaded.platform.targets.keys() {
                let _ = writeln!(stdout, "{name}");
            }
            Ok(0)
        }
        Command::Pins => {
            let compiled = compile(cli)?;
            let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (target, plan) in &compiled.plan.targets {
                for o in &plan.objects {
                    for image in obsc::render::images(o) {
                        users.entry(image).or_default().push(format!("{target}: {}", o.key()));
                    }
                }
            }
            for (name, pin) in &compiled.pins.images {
                let reference = pin.reference();
                let used = users.get(&reference).map(Vec::as_slice).unwrap_or_default();
                println!("{name}  {reference}");
                if used.is_empty() {
                    println!("    (not used by any target)");
                }
                for u in used {
                    println!("    {u}");
                }
            }
            Ok(0)
        }
    }
}

/// `build --check`: is the directory exactly what obsc would write?
fn check_render(out: &Path, rendered: &BTreeMap<String, emit::Files>) -> u8 {
    let mut stale = 0;
    for (name, files) in rendered {
        let dir = out.join(name);
        let existing = emit::read_dir(&dir).unwrap_or_default();
        let changed: Vec<&String> = files.keys().filter(|p| existing.get(*p) != files.get(*p)).collect();
        let removed: Vec<&String> = existing.keys().filter(|p| !files.contains_key(*p)).collect();
        if changed.is_empty() && removed.is_empty() {
            println!("{}: up to date", dir.display());
            continue;
        }
        stale += 1;
        println!("{}: stale", dir.display());
        for p in changed {
            let what = if existing.contains_key(p) { "changed" } else { "missing" };
            println!("  {what}: {p}");
        }
        for p in removed {
            println!("  not rendered: {p}");
        }
    }
    if stale > 0 {
        INVALID
    } else {
        0
    }
}

fn choose_targets(compiled: &Compiled, targets: &[String], all: bool) -> Result<Vec<String>, Failure> {
    let known: Vec<String> = compiled.plan.targets.keys().cloned().collect();
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
