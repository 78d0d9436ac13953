//! `safe-wrangler plan --remote`: what is live, asked of Cloudflare by read-only wrangler calls
//! with the caller's login (issue 13, item 2). Each call is itself assessed like any other (a read
//! gets the credentials a read gets: none outside CI, the preview token in CI) and only run when
//! that assessment says run. Never used by the prompt.

use std::ffi::OsString;
use std::process::Stdio;

use serde::Serialize;

use crate::context::Context;
use crate::policy::{Credential, Decision};
use crate::wrangler::argv::Invocation;
use crate::{World, credentials, exec};

/// What one read-only call said.
#[derive(Debug, Clone, Serialize)]
pub struct Live {
    /// The wrangler argv run.
    pub command: Vec<String>,
    /// Its exit code (`null` when it did not run or was killed).
    pub exit: Option<i32>,
    /// Its output (stdout, then stderr), escaped; or why it did not run.
    pub output: String,
    /// For `d1 migrations list`: the migration files not yet applied (`null`: unknown).
    pub pending: Option<Vec<String>>,
}

/// The read-only calls that show what is live for `inv`: the version now serving for work on a
/// Worker, the migrations already applied for D1 migrations.
#[must_use]
pub fn queries(inv: &Invocation) -> Vec<Vec<String>> {
    let mut keep: Vec<String> = Vec::new();
    for name in ["env", "config", "cwd"] {
        if let Some(v) = inv.value(name) {
            keep.push(format!("--{name}={v}"));
        }
    }
    let with = |mut base: Vec<String>| {
        base.extend(keep.iter().cloned());
        base
    };
    match inv.path.as_str() {
        "d1 migrations apply" => inv
            .positionals
            .first()
            .map(|db| {
                vec![with(vec![
                    "d1".into(),
                    "migrations".into(),
                    "list".into(),
                    db.clone(),
                    "--remote".into(),
                ])]
            })
            .unwrap_or_default(),
        "deploy" | "versions deploy" | "versions upload" | "rollback" | "triggers deploy" => {
            vec![with(vec!["deployments".into(), "status".into()])]
        }
        _ => Vec::new(),
    }
}

/// Runs each query through the guard's own rules and collects what it said.
#[must_use]
pub fn ask(world: &World, inv: &Invocation, migrations: &[String]) -> Vec<Live> {
    queries(inv)
        .into_iter()
        .map(|argv| run_one(world, argv, migrations))
        .collect()
}

fn run_one(world: &World, words: Vec<String>, migrations: &[String]) -> Live {
    let argv = words;
    let os_args: Vec<OsString> = argv.iter().map(OsString::from).collect();
    let not_run = |argv: Vec<String>, why: String| Live {
        command: argv,
        exit: None,
        output: why,
        pending: None,
    };
    let detect =
        |env: &crate::context::Env, _| Context::detect(env, false, &crate::edge::files::RealDisk);
    let a = match crate::assess_as(world, &os_args, detect) {
        Ok(a) => a,
        Err(e) => return not_run(argv, format!("bad policy file {e}")),
    };
    let token = match &a.ruling.decision {
        Decision::Run { credential } if !a.operation.class.needs_approval() => match credential {
            Credential::None => None,
            Credential::Token(var) => world
                .env
                .get(var)
                .filter(|v| !v.is_empty())
                .map(ToOwned::to_owned),
        },
        _ => {
            return not_run(
                argv,
                format!("not run: it is {} work here", a.operation.class.as_str()),
            );
        }
    };
    let Some(me) = world
        .exe
        .as_deref()
        .and_then(|e| crate::resolve::SelfId::of(e).ok())
    else {
        return not_run(argv, "cannot tell safe-wrangler apart from wrangler".into());
    };
    let Ok(real) = crate::resolve::find_real(
        world.env.get("SAFE_WRANGLER_REAL"),
        &a.dir,
        world.env.get("PATH"),
        &me,
    ) else {
        return not_run(argv, "the real wrangler was not found".into());
    };
    let mut full = os_args.clone();
    if let credentials::DotenvPlan::Replace(files) = &a.dotenv {
        match exec::write_copies(&a.dir, files) {
            Ok(extra) => full.extend(extra),
            Err(e) => return not_run(argv, format!("cannot write the .env copies: {e}")),
        }
    }
    let depth = world
        .env
        .str(credentials::DEPTH_VAR)
        .and_then(|d| d.parse::<u32>().ok())
        .unwrap_or(0);
    let out = std::process::Command::new(&real)
        .args(&full)
        .current_dir(&a.dir)
        .env_clear()
        .envs(credentials::child_env(
            &world.env,
            depth + 1,
            token.as_deref(),
            &a.policy.ci_tokens.variables(),
        ))
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) => {
            let stdout = String::from_utf8_lossy(&o.stdout);
            let stderr = String::from_utf8_lossy(&o.stderr);
            let text = format!("{stdout}{stderr}");
            let pending = (argv.get(1).map(String::as_str) == Some("migrations")
                && o.status.success())
            .then(|| {
                migrations
                    .iter()
                    .filter(|m| text.contains(m.as_str()))
                    .cloned()
                    .collect()
            });
            Live {
                command: argv,
                exit: o.status.code(),
                output: crate::display::shown(text.trim()),
                pending,
            }
        }
        Err(e) => not_run(argv, format!("cannot run {}: {e}", exec::shown(&real))),
    }
}
