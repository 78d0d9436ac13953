//! End-to-end through the guard: the built safe-wrangler in front of the REAL wrangler 4.164.0
//! (`SAFE_WRANGLER_REAL=tests/e2e/wrangler-real`), against the loopback fake Cloudflare API
//! (`fake_api`). Every process gets the isolated environment of `fake_api::wrangler_command`
//! (empty but for `PATH=/usr/bin:/bin`, a temp `HOME`/`XDG_CONFIG_HOME`/`TMPDIR`, metrics and
//! banner off, the fake as `CLOUDFLARE_API_BASE_URL`) and runs with no controlling terminal
//! (setsid, stdin null) unless the scenario needs a human, who then sits at a real
//! pseudo-terminal.
//!
//! What the tests prove, from the fake's request log, exit codes and files on disk:
//! - local work runs through safe-wrangler with a token in the environment and makes no request;
//! - no credential from the environment or a project `.env*` file ever reaches the API: with a
//!   stored OAuth login every request carries that login (read, preview and production work);
//! - a refused call makes no request and wrangler never starts;
//! - explain's Worker and routes are what the real wrangler actually deploys.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::fake_api::{
    self, ACCOUNT_ID, Credential, ENV_TOKEN, FakeApi, FakeOptions, GLOBAL_KEY, OAUTH_LABEL,
    Request, WORKER_NAME, WranglerRun,
};
use crate::util::{BIN, PtySession};

// ---------------------------------------------------------------------------------------------
// Dummy credentials (never real) beyond fake_api's, each with its own label in the request log.

const DOTENV_TOKEN: &str = "dotenv-token-not-real";
const DOTENV_LABEL: &str = "dotenv-token";
const DOTENV_LOCAL_TOKEN: &str = "dotenv-local-token-not-real";
const DOTENV_LOCAL_LABEL: &str = "dotenv-local-token";
const DOTENV_NAMED_TOKEN: &str = "dotenv-named-env-token-not-real";
const DOTENV_NAMED_LABEL: &str = "dotenv-named-env-token";
const CF_API_TOKEN: &str = "cf-api-token-not-real";
const CF_API_TOKEN_LABEL: &str = "cf-api-token";
const GLOBAL_EMAIL: &str = "global-key-owner@example.com";
const HEADERS_TOKEN: &str = "api-headers-token-not-real";
const HEADERS_LABEL: &str = "api-headers-token";

/// An account id that only the project's `.env*` files name (`CLOUDFLARE_ACCOUNT_ID`): a request
/// under `/accounts/<it>/` proves that the non-credential lines of those files reached wrangler.
const DOTENV_ACCOUNT_ID: &str = "acc1111111111111111111111111dfe1";

fn known_credentials() -> Vec<(String, String)> {
    let mut out = fake_api::default_credentials();
    for (l, v) in [
        (DOTENV_LABEL, DOTENV_TOKEN),
        (DOTENV_LOCAL_LABEL, DOTENV_LOCAL_TOKEN),
        (DOTENV_NAMED_LABEL, DOTENV_NAMED_TOKEN),
        (CF_API_TOKEN_LABEL, CF_API_TOKEN),
        (HEADERS_LABEL, HEADERS_TOKEN),
    ] {
        out.push((l.to_owned(), v.to_owned()));
    }
    out
}

fn fake(worker_exists: bool) -> FakeApi {
    FakeApi::start(FakeOptions {
        known_credentials: known_credentials(),
        worker_exists,
        ..FakeOptions::default()
    })
}

fn oauth() -> Credential {
    Credential::bearer(OAUTH_LABEL)
}

// ---------------------------------------------------------------------------------------------
// The sandbox: one temp dir with `home/` (HOME; `home/.config` is XDG_CONFIG_HOME) and `work/`.

struct World {
    root: tempfile::TempDir,
}

/// Extra environment for one call.
type Vars<'a> = &'a [(&'a str, &'a str)];

impl World {
    fn new() -> World {
        let w = World {
            root: tempfile::tempdir().expect("temp dir"),
        };
        fs::create_dir_all(w.work()).expect("create work/");
        w
    }

    fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    fn xdg(&self) -> PathBuf {
        self.root.path().join("home/.config")
    }

    /// Stores the human's OAuth login (`fake_api::OAUTH_TOKEN`).
    fn login(&self) {
        fake_api::write_oauth_login(&self.xdg());
    }

    /// safe-wrangler ARGS in `cwd`, isolated, with no controlling terminal.
    fn safe(&self, fake: &FakeApi, cwd: &Path, vars: Vars<'_>, args: &[&str]) -> Command {
        let mut cmd = self.safe_base(fake, cwd, vars, args);
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                Ok(())
            });
        }
        cmd
    }

    fn safe_base(&self, fake: &FakeApi, cwd: &Path, vars: Vars<'_>, args: &[&str]) -> Command {
        let real = fake_api::require_wrangler_real();
        let mut cmd =
            fake_api::isolated_command(Path::new(BIN), cwd, &self.xdg(), &fake.base_url());
        cmd.env("SAFE_WRANGLER_REAL", real).args(args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd
    }

    /// The real wrangler ARGS, directly (no safe-wrangler), isolated, in its own process group.
    fn direct(&self, fake: &FakeApi, cwd: &Path, vars: Vars<'_>, args: &[&str]) -> Command {
        let mut cmd = fake_api::wrangler_command(cwd, &self.xdg(), &fake.base_url());
        cmd.args(args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd
    }

    /// `safe-wrangler explain --json -- ARGS` in `cwd` with `vars`: its JSON.
    fn explain(&self, cwd: &Path, vars: Vars<'_>, args: &[&str]) -> Value {
        // explain never starts wrangler nor talks to the API; the fake only supplies a base URL.
        let fake = fake(false);
        let mut cmd = self.safe(&fake, cwd, vars, &["explain", "--json", "--"]);
        cmd.args(args);
        let run = fake_api::run_wrangler_with(cmd, None, Duration::from_secs(20));
        run.assert_success("safe-wrangler explain");
        assert!(fake.requests().is_empty(), "explain made a request");
        serde_json::from_str(run.stdout.trim())
            .unwrap_or_else(|e| panic!("explain printed no JSON ({e}): {}", run.stdout))
    }
}

/// Runs `cmd` (its own process group or session) and logs what happened.
fn run(what: &str, cmd: Command, fake: &FakeApi) -> WranglerRun {
    let run = fake_api::run_wrangler_with(cmd, None, fake_api::WRANGLER_TIMEOUT);
    eprintln!(
        "{what} -> {:?} in {:.1?}, {} requests:\n{}\n--- stdout:\n{}\n--- stderr:\n{}",
        run.code(),
        run.elapsed,
        fake.requests().len(),
        fake.report(),
        run.stdout,
        run.stderr
    );
    run
}

/// Writes the fixture project (`sw-e2e`, no routes) into `dir`, with `config` as its
/// `wrangler.jsonc` (derived from `fake_api::fixture_config`).
fn write_project_with(dir: &Path, config: &Value) {
    fake_api::write_project(dir);
    let text = serde_json::to_string_pretty(config).expect("serialise");
    fs::write(
        dir.join("wrangler.jsonc"),
        format!("// e2e_guard\n{text}\n"),
    )
    .expect("write wrangler.jsonc");
}

/// The fixture config plus `env.staging` with `"routes": []` (the staging Worker gets no route)
/// and its own D1 database and KV namespace (bound to production's, a staging deploy would be
/// production: issue 11), so `deploy --env staging` is preview work; and `env.production`
/// (wrangler at a terminal refuses an environment the config does not define), which repeats
/// the top level's bindings.
fn staging_without_routes() -> Value {
    let mut cfg = fake_api::fixture_config(false);
    let bindings = json!({
        "d1_databases": cfg["d1_databases"].clone(),
        "kv_namespaces": cfg["kv_namespaces"].clone(),
    });
    let mut staging = json!({
        "d1_databases": [{"binding": "DB", "database_name": "sw-e2e-db-staging",
                          "database_id": "22222222-2222-4222-8222-222222222222",
                          "migrations_dir": "migrations"}],
        "kv_namespaces": [{"binding": "KV", "id": "kvns-staging"}],
    });
    staging["routes"] = json!([]);
    cfg["env"] = json!({ "staging": staging, "production": bindings });
    cfg
}

/// The requests whose path is under `/accounts/<id>/`.
fn account_ids(reqs: &[Request]) -> BTreeSet<String> {
    reqs.iter()
        .filter_map(|r| r.path.strip_prefix("/accounts/"))
        .filter_map(|rest| rest.split('/').next())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The names in `PUT /accounts/<A>/workers/scripts/<name>` (a Worker upload).
fn uploaded_scripts(reqs: &[Request]) -> Vec<(String, String)> {
    reqs.iter()
        .filter(|r| r.method == "PUT")
        .filter_map(|r| {
            let segs: Vec<&str> = r.path.trim_matches('/').split('/').collect();
            match segs.as_slice() {
                ["accounts", a, "workers", "scripts", name] => {
                    Some(((*a).to_owned(), (*name).to_owned()))
                }
                _ => None,
            }
        })
        .collect()
}

/// Every request carried `cred` (and there was at least one).
#[track_caller]
fn assert_all_carry(what: &str, fake: &FakeApi, cred: &Credential) -> Vec<Request> {
    let reqs = fake.requests();
    assert!(!reqs.is_empty(), "{what}: no request reached the fake API");
    for r in &reqs {
        assert_eq!(
            &r.credential,
            cred,
            "{what}: {} carried the wrong credential\nlog:\n{}",
            r.full_line(),
            fake.report()
        );
    }
    reqs
}

#[track_caller]
fn assert_no_requests(what: &str, fake: &FakeApi) {
    assert!(
        fake.requests().is_empty(),
        "{what}: expected no API request, got:\n{}",
        fake.report()
    );
}

// ---------------------------------------------------------------------------------------------
// A real pseudo-terminal that is the controlling terminal of safe-wrangler (and so of wrangler).

struct PtyRun {
    code: Option<i32>,
    text: String,
    elapsed: Duration,
}

/// Runs `cmd` (from `World::safe_base`) on a new pty as its controlling terminal. When `answer`
/// is given, waits for the confirmation prompt and types it. Kills the session on the way out.
fn run_in_pty(cmd: Command, answer: Option<&str>, timeout: Duration) -> PtyRun {
    let mut session = PtySession::spawn(cmd);
    if let Some(answer) = answer {
        session.wait_for("to confirm");
        session.type_bytes(format!("{answer}\n").as_bytes());
    }
    let (code, text, elapsed) = session.finish(timeout);
    PtyRun {
        code,
        text,
        elapsed,
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 1. Local work runs through safe-wrangler, with a token in the environment, and makes no request.

/// `safe-wrangler ARGS` in a fresh fixture project with `CLOUDFLARE_API_TOKEN` set and no
/// terminal: exit 0 and no API request. Returns the project dir.
fn local_work(args: &[&str]) -> (World, PathBuf, WranglerRun) {
    let w = World::new();
    let project = w.work().join("p");
    fake_api::write_project(&project);
    let f = fake(false);
    let what = format!("safe-wrangler {}", args.join(" "));
    let r = run(
        &what,
        w.safe(&f, &project, &[("CLOUDFLARE_API_TOKEN", ENV_TOKEN)], args),
        &f,
    );
    r.assert_success(&f.report());
    assert_no_requests(&what, &f);
    (w, project, r)
}

#[test]
fn e2e_local_d1_migrations_apply() {
    let (_w, project, _) = local_work(&["d1", "migrations", "apply", "DB", "--local"]);
    let state = project.join(".wrangler/state");
    let sqlite: Vec<PathBuf> = files_under(&state)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sqlite"))
        .collect();
    assert!(
        !sqlite.is_empty(),
        "no .sqlite file under {}: {:?}",
        state.display(),
        files_under(&state)
    );
}

#[test]
fn e2e_local_kv_key_put() {
    let (_w, project, _) =
        local_work(&["kv", "key", "put", "k", "v", "--binding", "KV", "--local"]);
    let state = project.join(".wrangler/state");
    let files = files_under(&state);
    // Miniflare keeps the value as a blob file and the key in a sqlite index.
    assert!(
        files.iter().any(|p| fs::read(p).is_ok_and(|b| b == b"v")),
        "the value was not stored under {}: {files:?}",
        state.display()
    );
}

#[test]
fn e2e_local_deploy_dry_run() {
    let (_w, project, r) = local_work(&["deploy", "--dry-run", "--outdir", "out"]);
    let bundle = project.join("out/index.js");
    let js = fs::read_to_string(&bundle)
        .unwrap_or_else(|e| panic!("no bundle {}: {e}", bundle.display()));
    assert!(js.contains("hello from sw-e2e"), "{js}");
    assert!(r.stdout.contains("--dry-run: exiting now"), "{}", r.stdout);
}

#[test]
fn e2e_local_types() {
    let (_w, project, _) = local_work(&["types"]);
    let dts = project.join("worker-configuration.d.ts");
    let text = fs::read_to_string(&dts).unwrap_or_else(|e| panic!("no {}: {e}", dts.display()));
    assert!(
        text.contains("DB: D1Database") && text.contains("KV: KVNamespace"),
        "bindings missing from worker-configuration.d.ts:\n{}",
        &text[..text.len().min(2000)]
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Credentials: none from the environment or the project's `.env*` files reaches the API.

/// Where a credential is left for wrangler to find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// `CLOUDFLARE_API_TOKEN` in the environment.
    EnvToken,
    /// `CLOUDFLARE_API_TOKEN` in the project's `.env`.
    DotEnv,
    /// ... in `.env.local`.
    DotEnvLocal,
    /// ... in `.env.<env>`, with `--env <env>`.
    DotEnvNamed,
    /// The deprecated `CF_API_TOKEN` in the environment.
    CfApiToken,
    /// A global API key: `CLOUDFLARE_API_KEY` + `CLOUDFLARE_EMAIL` in the environment.
    GlobalKey,
}

impl Source {
    /// The environment variables to set.
    fn vars(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Source::EnvToken => vec![("CLOUDFLARE_API_TOKEN", ENV_TOKEN)],
            Source::CfApiToken => vec![("CF_API_TOKEN", CF_API_TOKEN)],
            Source::GlobalKey => vec![
                ("CLOUDFLARE_API_KEY", GLOBAL_KEY),
                ("CLOUDFLARE_EMAIL", GLOBAL_EMAIL),
            ],
            Source::DotEnv | Source::DotEnvLocal | Source::DotEnvNamed => Vec::new(),
        }
    }

    /// The project file to write for a call on environment `env` ("" = top level): its name and
    /// contents. Besides the token it sets a plain setting and the account to use.
    fn file(self, env: &str) -> Option<(String, String)> {
        let (name, token) = match self {
            Source::DotEnv => (".env".to_owned(), DOTENV_TOKEN),
            Source::DotEnvLocal => (".env.local".to_owned(), DOTENV_LOCAL_TOKEN),
            Source::DotEnvNamed => {
                assert!(!env.is_empty(), "DotEnvNamed needs a named environment");
                (format!(".env.{env}"), DOTENV_NAMED_TOKEN)
            }
            _ => return None,
        };
        let body = format!(
            "# project settings\nMY_SETTING=kept\n\
             CLOUDFLARE_ACCOUNT_ID={DOTENV_ACCOUNT_ID}\n\
             CLOUDFLARE_API_TOKEN={token}\n"
        );
        Some((name, body))
    }

    fn in_dotenv(self) -> bool {
        matches!(
            self,
            Source::DotEnv | Source::DotEnvLocal | Source::DotEnvNamed
        )
    }

    /// The environment the read and preview steps use (`.env.<env>` needs one).
    fn env(self) -> &'static str {
        if self == Source::DotEnvNamed {
            "staging"
        } else {
            ""
        }
    }
}

/// One call of the credential scenario.
struct Step {
    what: &'static str,
    args: Vec<&'static str>,
    /// The environment the call acts on (picks `.env.<env>`).
    env: &'static str,
    /// Whether to store the OAuth login first.
    login: bool,
    worker_exists: bool,
    /// The Worker the call acts on.
    worker: String,
    /// Production work: run in a pty and type the Worker's name at the prompt.
    confirm: bool,
}

/// Runs `step` in a fresh copy of the project with `source`'s credential in place; checks exit 0,
/// the `.env*` file unchanged, and the account the file names; returns the fake (for its log).
fn credential_step(w: &World, n: usize, source: Source, step: &Step) -> (FakeApi, String) {
    let project = w.work().join(format!("step{n}"));
    write_project_with(&project, &staging_without_routes());
    let file = source.file(step.env).map(|(name, body)| {
        let path = project.join(name);
        fs::write(&path, &body).expect("write the .env file");
        (path, body)
    });
    if step.login {
        w.login();
    }
    let f = fake(step.worker_exists);
    let vars = source.vars();
    let what = format!(
        "{:?}: {} (safe-wrangler {})",
        source,
        step.what,
        step.args.join(" ")
    );
    let output = if step.confirm {
        let worker = &step.worker;
        let r = run_in_pty(
            w.safe_base(&f, &project, &vars, &step.args),
            Some(worker),
            fake_api::WRANGLER_TIMEOUT,
        );
        eprintln!(
            "{what} -> {:?} in {:.1?}, {} requests:\n{}\n--- terminal:\n{}",
            r.code,
            r.elapsed,
            f.requests().len(),
            f.report(),
            r.text
        );
        assert!(
            r.text.contains(&format!("Type {worker} to confirm")),
            "{what}: no prompt for {worker}:\n{}",
            r.text
        );
        assert_eq!(r.code, Some(0), "{what}:\n{}\nlog:\n{}", r.text, f.report());
        r.text
    } else {
        let r = run(&what, w.safe(&f, &project, &vars, &step.args), &f);
        r.assert_success(&f.report());
        r.stdout
    };
    if step.args[0] == "deploy" {
        // The control for the refusal tests: when wrangler deploys it leaves `.wrangler/`.
        assert!(
            project.join(".wrangler").is_dir(),
            "{what}: no .wrangler/ after a deploy"
        );
    }
    if let Some((path, body)) = &file {
        let now = fs::read_to_string(path).expect("the .env file is still there");
        assert_eq!(&now, body, "{what}: {} changed on disk", path.display());
    }
    // The non-credential lines of the file reach wrangler: the account it names is used.
    let accounts = account_ids(&f.requests());
    let expected = if source.in_dotenv() {
        DOTENV_ACCOUNT_ID
    } else {
        ACCOUNT_ID
    };
    assert!(
        accounts.iter().all(|a| a == expected),
        "{what}: expected only account {expected}\nlog:\n{}",
        f.report()
    );
    if step.login && step.args[0] != "whoami" {
        assert!(
            !accounts.is_empty(),
            "{what}: no account request\nlog:\n{}",
            f.report()
        );
    }
    (f, output)
}

/// A read without a login, then with the OAuth login stored: a read, two previews and a
/// production deploy confirmed at a terminal. `DotEnvNamed` works on named environments only
/// (`staging`, and `production` for the deploy).
fn credential_steps(source: Source) -> Vec<Step> {
    let env = source.env();
    let with_env = |args: &[&'static str], env: &'static str| -> Vec<&'static str> {
        let mut v = args.to_vec();
        if !env.is_empty() {
            v.extend(["--env", env]);
        }
        v
    };
    let worker = |env: &str| {
        if env.is_empty() {
            WORKER_NAME.to_owned()
        } else {
            format!("{WORKER_NAME}-{env}")
        }
    };
    let prod_env = if source == Source::DotEnvNamed {
        "production"
    } else {
        ""
    };
    let step = |what, args, env, login, worker_exists, confirm: bool| Step {
        what,
        args,
        env,
        login,
        worker_exists,
        worker: worker(env),
        confirm,
    };
    vec![
        step(
            "read without a login",
            with_env(&["whoami"], env),
            env,
            false,
            false,
            false,
        ),
        step("read", with_env(&["whoami"], env), env, true, false, false),
        step(
            "preview: versions upload",
            with_env(&["versions", "upload"], env),
            env,
            true,
            true,
            false,
        ),
        step(
            "preview: deploy to staging (no routes)",
            vec!["deploy", "--env", "staging"],
            "staging",
            true,
            false,
            false,
        ),
        step(
            "production: deploy, confirmed at a terminal",
            with_env(&["deploy"], prod_env),
            prod_env,
            true,
            false,
            true,
        ),
    ]
}

/// The whole scenario for one source: without a login wrangler is not authenticated (and no
/// request carries a credential); with the OAuth login stored, every request of a read, two
/// previews and a confirmed production deploy carries that login.
fn credential_scenario(source: Source) {
    let w = World::new();
    let steps = credential_steps(source);
    for (n, step) in steps.iter().enumerate() {
        let (f, output) = credential_step(&w, n, source, step);
        let what = format!("{source:?}: {}", step.what);
        if !step.login {
            assert!(
                output.contains("You are not authenticated"),
                "{what}: wrangler found a credential:\n{output}\nlog:\n{}",
                f.report()
            );
            for r in f.requests() {
                assert_eq!(r.credential, Credential::None, "{what}: {}", r.full_line());
            }
            continue;
        }
        let reqs = assert_all_carry(&what, &f, &oauth());
        let worker = &step.worker;
        let has = |method: &str, suffix: &str| {
            reqs.iter().any(|r| {
                r.method == method
                    && r.path.starts_with("/accounts/")
                    && r.path
                        .ends_with(&format!("/workers/scripts/{worker}{suffix}"))
            })
        };
        match step.args[0] {
            "whoami" => assert!(
                reqs.iter().any(|r| r.line() == "GET /user"),
                "{what}\nlog:\n{}",
                f.report()
            ),
            "versions" => assert!(
                has("POST", "/versions") && !has("PUT", ""),
                "{what}: expected a version upload of {worker} and no deploy\nlog:\n{}",
                f.report()
            ),
            _ => assert!(
                has("PUT", ""),
                "{what}: {worker} was not deployed\nlog:\n{}",
                f.report()
            ),
        }
    }
}

#[test]
fn e2e_credentials_env_token() {
    credential_scenario(Source::EnvToken);
}

#[test]
fn e2e_credentials_cf_api_token() {
    credential_scenario(Source::CfApiToken);
}

#[test]
fn e2e_credentials_global_key() {
    credential_scenario(Source::GlobalKey);
}

// The `.env*` scenarios: wrangler's launcher (`bin/wrangler.js`) re-spawns node for
// `wrangler-dist/cli.js` without extra file descriptors, and node 22 checks every `--env-file=`
// in its argv, so the credential-free copies must be real files (an in-memory
// `/proc/self/fd/N` failed here with exit 9 before any request, which is how this was found).

#[test]
fn e2e_credentials_dotenv() {
    credential_scenario(Source::DotEnv);
}

#[test]
fn e2e_credentials_dotenv_local() {
    credential_scenario(Source::DotEnvLocal);
}

#[test]
fn e2e_credentials_dotenv_named_env() {
    credential_scenario(Source::DotEnvNamed);
}

/// A second call in the same project finds its `.env` copy already right and leaves it (same
/// inode), and the real wrangler still never sees the token: no request carries a credential.
#[test]
fn e2e_second_dotenv_call_reuses_the_copy_and_still_hides_the_token() {
    use std::os::unix::fs::MetadataExt;
    let w = World::new();
    let project = w.work().join("again");
    write_project_with(&project, &staging_without_routes());
    let (name, body) = Source::DotEnv.file("").expect("a .env body");
    fs::write(project.join(name), body).expect("write the .env file");
    let copy = project.join(".wrangler/safe-wrangler/.env");
    let mut inodes = Vec::new();
    for n in 0..2 {
        let f = fake(false);
        let what = format!("call {n}: safe-wrangler whoami");
        let r = run(
            &what,
            w.safe(&f, &project, &Source::DotEnv.vars(), &["whoami"]),
            &f,
        );
        r.assert_success(&f.report());
        assert!(
            r.stdout.contains("You are not authenticated"),
            "{what}: wrangler found a credential:\n{}\nlog:\n{}",
            r.stdout,
            f.report()
        );
        for req in f.requests() {
            assert_eq!(
                req.credential,
                Credential::None,
                "{what}: {}",
                req.full_line()
            );
        }
        inodes.push(fs::symlink_metadata(&copy).expect("the copy").ino());
    }
    assert_eq!(
        inodes[0], inodes[1],
        "the second call rewrote an unchanged copy"
    );
}

/// `CLOUDFLARE_API_HEADERS` is a credential too: wrangler sets its headers on every API request
/// after its own `Authorization`, so `{"Authorization":"Bearer X"}` replaces the OAuth login (the
/// control, the real wrangler run directly, shows it). Through safe-wrangler, from the
/// environment, `.env` (unquoted, as people write it) and `.env.local` (quoted), a read and a
/// preview carry only the stored login.
/// Where a call's credential comes from: a name, the environment, and a file to write.
type HeadersSource<'a> = (&'a str, Vars<'a>, Option<(&'a str, String)>);

#[test]
fn e2e_api_headers_never_carry_a_credential_to_wrangler() {
    let w = World::new();
    w.login();
    let headers = format!(r#"{{"Authorization":"Bearer {HEADERS_TOKEN}"}}"#);
    let env_vars = [("CLOUDFLARE_API_HEADERS", headers.as_str())];
    let control = w.work().join("control");
    write_project_with(&control, &staging_without_routes());
    let f = fake(false);
    let what = "control: the real wrangler whoami with CLOUDFLARE_API_HEADERS";
    run(what, w.direct(&f, &control, &env_vars, &["whoami"]), &f);
    assert_all_carry(what, &f, &Credential::bearer(HEADERS_LABEL));
    let sources: [HeadersSource<'_>; 3] = [
        ("environment", &env_vars, None),
        (
            ".env",
            &[],
            Some((".env", format!("A=1\nCLOUDFLARE_API_HEADERS={headers}\n"))),
        ),
        (
            ".env.local",
            &[],
            Some((
                ".env.local",
                format!("CLOUDFLARE_API_HEADERS='{headers}'\n"),
            )),
        ),
    ];
    for (n, (source, vars, file)) in sources.iter().enumerate() {
        for args in [&["whoami"][..], &["versions", "upload"]] {
            let project = w.work().join(format!("p{n}-{}", args.len()));
            write_project_with(&project, &staging_without_routes());
            if let Some((name, body)) = file {
                fs::write(project.join(name), body).expect("write the .env file");
            }
            let f = fake(args.len() > 1);
            let what = format!("{source}: safe-wrangler {}", args.join(" "));
            let r = run(&what, w.safe(&f, &project, vars, args), &f);
            r.assert_success(&f.report());
            assert_all_carry(&what, &f, &oauth());
            assert!(
                !r.stdout.contains(HEADERS_TOKEN) && !r.stderr.contains(HEADERS_TOKEN),
                "{what}: the header's token was printed"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. A refused call makes no request, and wrangler never starts.

/// A fresh fixture project for a refusal, with the token in the environment.
fn refused(w: &World, name: &str) -> (PathBuf, FakeApi) {
    let project = w.work().join(name);
    fake_api::write_project(&project);
    (project, fake(false))
}

/// Exit 77, no request, and no `.wrangler/` (which a deploy by wrangler leaves behind: checked
/// in the credential scenarios).
#[track_caller]
fn assert_refused(what: &str, code: Option<i32>, output: &str, project: &Path, f: &FakeApi) {
    assert_eq!(code, Some(77), "{what}:\n{output}");
    assert!(output.contains("refused"), "{what}:\n{output}");
    assert_no_requests(what, f);
    assert!(
        !project.join(".wrangler").exists(),
        "{what}: wrangler ran (.wrangler/ exists)"
    );
}

#[test]
fn e2e_refused_without_a_terminal() {
    let w = World::new();
    for (n, (name, vars)) in [
        ("no terminal", &[][..]),
        ("forged CI=true", &[("CI", "true")][..]),
        (
            "forged GITHUB_ACTIONS=true",
            &[("GITHUB_ACTIONS", "true")][..],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let (project, f) = refused(&w, &format!("p{n}"));
        let mut vars = vars.to_vec();
        vars.push(("CLOUDFLARE_API_TOKEN", ENV_TOKEN));
        let r = run(name, w.safe(&f, &project, &vars, &["deploy"]), &f);
        assert_refused(name, r.code(), &r.stderr, &project, &f);
    }
}

#[test]
fn e2e_refused_agent_even_at_a_terminal() {
    let w = World::new();
    let (project, f) = refused(&w, "agent");
    let r = run_in_pty(
        w.safe_base(
            &f,
            &project,
            &[("CLOUDFLARE_API_TOKEN", ENV_TOKEN), ("CLAUDECODE", "1")],
            &["deploy"],
        ),
        None,
        Duration::from_secs(30),
    );
    assert!(
        !r.text.contains("to confirm"),
        "a prompt was shown:\n{}",
        r.text
    );
    assert!(r.text.contains("CLAUDECODE"), "{}", r.text);
    assert_refused("agent at a terminal", r.code, &r.text, &project, &f);
}

// ---------------------------------------------------------------------------------------------
// 4. explain's target (Worker and routes) is what the real wrangler deploys.

const INDEX_JS: &str = "export default { async fetch() { return new Response(\"target\"); } };\n";

fn zone_route(pattern: &str) -> Value {
    json!({"pattern": pattern, "zone_name": "example.com"})
}

fn custom_domain(host: &str) -> Value {
    json!({"pattern": host, "custom_domain": true})
}

/// The routes fixture (`shop.example.com/*` + custom domain `api.example.com`, a cron,
/// `workers_dev = false`) with `env.staging` set to `staging` (bindings added).
fn routes_project(dir: &Path, staging: Value) {
    let mut cfg = fake_api::fixture_config(true);
    let mut staging = staging;
    staging["d1_databases"] = cfg["d1_databases"].clone();
    staging["kv_namespaces"] = cfg["kv_namespaces"].clone();
    cfg["env"] = json!({ "staging": staging });
    write_project_with(dir, &cfg);
}

/// `env.staging` with routes of its own: a zone route and a custom domain.
fn staging_own_routes() -> Value {
    let routes = [
        zone_route("staging.example.com/*"),
        custom_domain("staging-api.example.com"),
    ];
    json!({ "routes": routes })
}

/// A minimal Worker config (JSON) named `name` with `routes`, and its `src/index.js`.
fn write_worker(dir: &Path, file: &str, name: &str, routes: &Value) {
    fs::create_dir_all(dir.join("src")).expect("create src/");
    fs::write(dir.join("src/index.js"), INDEX_JS).expect("write index.js");
    let cfg = json!({"name": name, "main": "src/index.js", "compatibility_date": "2025-01-01",
                     "workers_dev": false, "routes": routes});
    let text = if Path::new(file).extension().is_some_and(|e| e == "toml") {
        toml::to_string(&cfg).expect("toml")
    } else {
        serde_json::to_string_pretty(&cfg).expect("json")
    };
    fs::write(dir.join(file), text).expect("write config");
}

/// The route patterns a deploy published: `PUT …/routes` patterns plus custom-domain hostnames
/// from `POST …/domains/changeset` and `PUT …/domains/records`.
fn published_routes(reqs: &[Request]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in reqs {
        let body = r.json().unwrap_or(Value::Null);
        if r.method == "PUT" && r.path.ends_with("/routes") {
            for route in body.as_array().into_iter().flatten() {
                match route {
                    Value::String(p) => out.insert(p.clone()),
                    other => out.insert(other["pattern"].as_str().unwrap_or("?").to_owned()),
                };
            }
        }
        // wrangler's fallback without "All zones" access: one POST per route on its zone.
        if r.method == "POST"
            && r.path.starts_with("/zones/")
            && r.path.ends_with("/workers/routes")
        {
            out.insert(body["pattern"].as_str().unwrap_or("?").to_owned());
        }
        let domains = if r.path.ends_with("/domains/changeset") {
            body.as_array().cloned()
        } else if r.path.ends_with("/domains/records") {
            body["origins"].as_array().cloned()
        } else {
            None
        };
        for d in domains.into_iter().flatten() {
            out.insert(d["hostname"].as_str().unwrap_or("?").to_owned());
        }
    }
    out
}

/// explain's claims for `args` in `cwd` with `vars`, then the real wrangler deploying with the
/// same args, environment and cwd (directly, with a dummy token): the Worker uploaded is
/// explain's `worker`, the routes and custom domains published are explain's `routes`.
fn explain_matches_wrangler(w: &World, cwd: &Path, vars: Vars<'_>, args: &[&str]) -> Value {
    let claim = w.explain(cwd, vars, args);
    let what = format!("{vars:?} wrangler {}", args.join(" "));
    eprintln!("{what}: explain says {claim}");
    let f = fake(false);
    let mut all = vars.to_vec();
    all.push(("CLOUDFLARE_API_TOKEN", ENV_TOKEN));
    let r = run(&what, w.direct(&f, cwd, &all, args), &f);
    r.assert_success(&f.report());
    let reqs = f.requests();
    let uploaded: Vec<String> = uploaded_scripts(&reqs)
        .into_iter()
        .map(|(_, n)| n)
        .collect();
    let claimed_worker = claim["worker"].as_str().unwrap_or("<none>");
    assert_eq!(
        uploaded,
        vec![claimed_worker.to_owned()],
        "{what}: explain's worker is not the Worker wrangler uploaded\nexplain: {claim}\nlog:\n{}",
        f.report()
    );
    let claimed_routes: BTreeSet<String> = claim["routes"]
        .as_array()
        .expect("explain's routes")
        .iter()
        .map(|r| r.as_str().expect("a route pattern").to_owned())
        .collect();
    assert_eq!(
        published_routes(&reqs),
        claimed_routes,
        "{what}: explain's routes are not what wrangler published\nexplain: {claim}\nlog:\n{}",
        f.report()
    );
    claim
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[track_caller]
fn assert_claim(claim: &Value, worker: &str, routes: &[&str]) {
    assert_eq!(claim["worker"], worker, "{claim}");
    let got: BTreeSet<String> = claim["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    assert_eq!(got, set(routes), "{claim}");
}

const TOP_ROUTES: [&str; 2] = ["shop.example.com/*", "api.example.com"];
const STAGING_ROUTES: [&str; 2] = ["staging.example.com/*", "staging-api.example.com"];

/// A staging deploy of the routes project spelled `args` (with `vars`).
fn staging_shape(vars: Vars<'_>, args: &[&str], worker: &str, routes: &[&str]) {
    let w = World::new();
    let project = w.work().join("p");
    routes_project(&project, staging_own_routes());
    let claim = explain_matches_wrangler(&w, &project, vars, args);
    assert_claim(&claim, worker, routes);
}

#[test]
fn e2e_target_env_flag_separate() {
    staging_shape(
        &[],
        &["deploy", "--env", "staging"],
        "sw-e2e-staging",
        &STAGING_ROUTES,
    );
}

#[test]
fn e2e_target_env_flag_equals() {
    staging_shape(
        &[],
        &["deploy", "--env=staging"],
        "sw-e2e-staging",
        &STAGING_ROUTES,
    );
}

#[test]
fn e2e_target_env_short_flag() {
    staging_shape(
        &[],
        &["deploy", "-e", "staging"],
        "sw-e2e-staging",
        &STAGING_ROUTES,
    );
}

#[test]
fn e2e_target_env_flag_before_the_command() {
    staging_shape(
        &[],
        &["--env", "staging", "deploy"],
        "sw-e2e-staging",
        &STAGING_ROUTES,
    );
}

#[test]
fn e2e_target_cloudflare_env() {
    staging_shape(
        &[("CLOUDFLARE_ENV", "staging")],
        &["deploy"],
        "sw-e2e-staging",
        &STAGING_ROUTES,
    );
}

#[test]
fn e2e_target_empty_env_flag_beats_cloudflare_env() {
    staging_shape(
        &[("CLOUDFLARE_ENV", "staging")],
        &["deploy", "--env="],
        WORKER_NAME,
        &TOP_ROUTES,
    );
}

#[test]
fn e2e_target_env_with_only_route_inherits_top_level_routes() {
    let w = World::new();
    let project = w.work().join("p");
    routes_project(
        &project,
        json!({"route": zone_route("staging.example.com/*")}),
    );
    let claim = explain_matches_wrangler(&w, &project, &[], &["deploy", "--env", "staging"]);
    assert_claim(&claim, "sw-e2e-staging", &TOP_ROUTES);
}

#[test]
fn e2e_target_config_flag() {
    let w = World::new();
    let project = w.work().join("p");
    routes_project(&project, staging_own_routes());
    write_worker(
        &project.join("other"),
        "wrangler.toml",
        "sw-e2e-other",
        &json!([zone_route("other.example.com/*")]),
    );
    let claim = explain_matches_wrangler(
        &w,
        &project,
        &[],
        &["deploy", "--config", "other/wrangler.toml"],
    );
    assert_claim(&claim, "sw-e2e-other", &["other.example.com/*"]);
}

#[test]
fn e2e_target_cwd_flag_from_outside() {
    let w = World::new();
    routes_project(&w.work().join("sub"), staging_own_routes());
    let claim = explain_matches_wrangler(&w, &w.work(), &[], &["--cwd", "sub", "deploy"]);
    assert_claim(&claim, WORKER_NAME, &TOP_ROUTES);
}

#[test]
fn e2e_target_ancestor_json_beats_cwd_toml() {
    let w = World::new();
    let parent = w.work().join("parent");
    write_worker(
        &parent,
        "wrangler.json",
        "from-parent-json",
        &json!([zone_route("parent.example.com/*")]),
    );
    let child = parent.join("child");
    write_worker(
        &child,
        "wrangler.toml",
        "from-child-toml",
        &json!([zone_route("child.example.com/*")]),
    );
    let claim = explain_matches_wrangler(&w, &child, &[], &["deploy"]);
    assert_claim(&claim, "from-parent-json", &["parent.example.com/*"]);
}

#[test]
fn e2e_target_redirected_config() {
    let w = World::new();
    let project = w.work().join("p");
    routes_project(&project, staging_own_routes());
    write_worker(
        &project.join("dist"),
        "wrangler.json",
        "generated-config",
        &json!([
            zone_route("gen.example.com/*"),
            custom_domain("gen-api.example.com")
        ]),
    );
    fs::create_dir_all(project.join(".wrangler/deploy")).expect("create .wrangler/deploy");
    fs::write(
        project.join(".wrangler/deploy/config.json"),
        r#"{"configPath": "../../dist/wrangler.json"}"#,
    )
    .expect("write the redirect");
    let claim = explain_matches_wrangler(&w, &project, &[], &["deploy"]);
    assert_claim(
        &claim,
        "generated-config",
        &["gen.example.com/*", "gen-api.example.com"],
    );
}

#[test]
fn e2e_target_shapes_wrangler_rejects_are_production() {
    let w = World::new();
    for (n, args) in [
        &["deploy", "-eproduction"][..],
        &["deploy", "--env", "a", "--env", "b"][..],
    ]
    .into_iter()
    .enumerate()
    {
        let project = w.work().join(format!("p{n}"));
        routes_project(&project, staging_own_routes());
        let claim = w.explain(&project, &[], args);
        assert_eq!(claim["class"], "production", "{args:?}: {claim}");
        let what = format!("wrangler {}", args.join(" "));
        let f = fake(false);
        let r = run(
            &what,
            w.direct(&f, &project, &[("CLOUDFLARE_API_TOKEN", ENV_TOKEN)], args),
            &f,
        );
        assert!(
            !r.timed_out && r.code().is_some_and(|c| c != 0),
            "{what}: wrangler accepted it ({:?})",
            r.code()
        );
        assert!(
            uploaded_scripts(&f.requests()).is_empty(),
            "{what}: a Worker was uploaded\nlog:\n{}",
            f.report()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Approved CI: a realistic GitHub Actions run, a policy approving it, the real wrangler.

const CI_DEPLOY_TOKEN: &str = "ci-deploy-token-not-real";
const CI_DEPLOY_LABEL: &str = "ci-deploy-token";
const CI_D1_TOKEN: &str = "ci-d1-token-not-real";
const CI_D1_LABEL: &str = "ci-d1-token";

const CI_POLICY: &str = r#"{
  "approved_ci": [{
    "provider": "github-actions",
    "repository": "acme/shop",
    "refs": ["refs/heads/main"],
    "events": ["push"],
    "workflows": [".github/workflows/deploy.yml"],
    "classes": ["production", "migration"]
  }],
  "ci_tokens": { "production": "CF_DEPLOY_TOKEN", "migration": "CF_D1_TOKEN" }
}"#;

#[test]
fn e2e_approved_ci_runs_with_exactly_the_policy_token_for_the_class() {
    let w = World::new();
    // A human's OAuth login on the runner too: it must not be what CI uses.
    w.login();
    let event = w.root.path().join("event.json");
    fs::write(&event, r#"{"repository":{"full_name":"acme/shop"}}"#).unwrap();
    let runner_temp = w.root.path().join("runner-temp");
    fs::create_dir_all(&runner_temp).unwrap();
    let (event, runner_temp) = (
        event.display().to_string(),
        runner_temp.display().to_string(),
    );
    let vars: Vec<(&str, &str)> = vec![
        ("CI", "true"),
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "acme/shop"),
        ("GITHUB_RUN_ID", "4242"),
        ("GITHUB_REF", "refs/heads/main"),
        ("GITHUB_EVENT_NAME", "push"),
        ("GITHUB_EVENT_PATH", &event),
        (
            "GITHUB_WORKFLOW_REF",
            "acme/shop/.github/workflows/deploy.yml@refs/heads/main",
        ),
        ("RUNNER_TEMP", &runner_temp),
        ("CF_DEPLOY_TOKEN", CI_DEPLOY_TOKEN),
        ("CF_D1_TOKEN", CI_D1_TOKEN),
        // a stray broad token in the job's environment: never the one used
        ("CLOUDFLARE_API_TOKEN", ENV_TOKEN),
    ];
    let ci_fake = || {
        let mut known = known_credentials();
        known.push((CI_DEPLOY_LABEL.to_owned(), CI_DEPLOY_TOKEN.to_owned()));
        known.push((CI_D1_LABEL.to_owned(), CI_D1_TOKEN.to_owned()));
        FakeApi::start(FakeOptions {
            known_credentials: known,
            ..FakeOptions::default()
        })
    };
    for (args, label) in [
        (&["deploy"][..], CI_DEPLOY_LABEL),
        (
            &["d1", "migrations", "apply", "DB", "--remote"],
            CI_D1_LABEL,
        ),
    ] {
        let project = w.work().join(format!("ci-{label}"));
        fake_api::write_project(&project);
        fs::write(project.join("safe-wrangler.jsonc"), CI_POLICY).unwrap();
        let f = ci_fake();
        let out = run(
            &format!("approved CI: {args:?}"),
            w.safe(&f, &project, &vars, args),
            &f,
        );
        out.assert_success(&f.report());
        let reqs = assert_all_carry(
            &format!("approved CI {args:?}"),
            &f,
            &Credential::bearer(label),
        );
        if args[0] == "deploy" {
            assert_eq!(
                uploaded_scripts(&reqs),
                vec![(ACCOUNT_ID.to_owned(), WORKER_NAME.to_owned())]
            );
        } else {
            assert!(
                reqs.iter()
                    .any(|r| r.method == "POST" && r.path.ends_with("/query")),
                "{}",
                f.report()
            );
        }
        assert!(!out.stdout.contains("-not-real") && !out.stderr.contains("-not-real"));
    }
    // The same run on another ref is refused and reaches nothing.
    let project = w.work().join("ci-feature");
    fake_api::write_project(&project);
    fs::write(project.join("safe-wrangler.jsonc"), CI_POLICY).unwrap();
    let f = ci_fake();
    let mut feature = vars.clone();
    feature.push(("GITHUB_REF", "refs/heads/feature"));
    let out = run(
        "unapproved ref",
        w.safe(&f, &project, &feature, &["deploy"]),
        &f,
    );
    assert_refused(
        "unapproved ref",
        out.code(),
        &format!("{}{}", out.stdout, out.stderr),
        &project,
        &f,
    );
}

/// Approved CI proven by an OIDC token (fake issuer on 127.0.0.1, test-issuer builds): the
/// verified run deploys with exactly the class's token; the same run with a forged environment
/// and no identity token (no `id-token: write` endpoint) is refused and reaches nothing.
#[cfg(feature = "test-issuer")]
#[test]
fn e2e_oidc_verified_github_run_deploys_and_the_forged_one_reaches_nothing() {
    use crate::oidc::{DEPLOY_TOKEN, FakeIssuer, GITHUB_POLICY, IssuerConfig, github_env};
    const LABEL: &str = "oidc-deploy-token";
    let issuer = FakeIssuer::start(IssuerConfig::default());
    let w = World::new();
    w.login();
    let mut env = github_env(w.root.path());
    env.push(("CLOUDFLARE_API_TOKEN".into(), ENV_TOKEN.into()));
    let forged: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut proven = forged.clone();
    let issuer_vars = issuer.github_vars();
    proven.extend(issuer_vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let api = || {
        let mut known = known_credentials();
        known.push((LABEL.to_owned(), DEPLOY_TOKEN.to_owned()));
        FakeApi::start(FakeOptions {
            known_credentials: known,
            ..FakeOptions::default()
        })
    };
    let project = w.work().join("oidc-proven");
    fake_api::write_project(&project);
    fs::write(project.join("safe-wrangler.jsonc"), GITHUB_POLICY).unwrap();
    let f = api();
    let out = run(
        "OIDC-proven deploy",
        w.safe(&f, &project, &proven, &["deploy"]),
        &f,
    );
    out.assert_success(&f.report());
    let reqs = assert_all_carry("OIDC-proven deploy", &f, &Credential::bearer(LABEL));
    assert_eq!(
        uploaded_scripts(&reqs),
        vec![(ACCOUNT_ID.to_owned(), WORKER_NAME.to_owned())]
    );
    assert!(!issuer.requests().is_empty(), "the token was verified");

    let project = w.work().join("oidc-forged");
    fake_api::write_project(&project);
    fs::write(project.join("safe-wrangler.jsonc"), GITHUB_POLICY).unwrap();
    let f = api();
    issuer.clear();
    let out = run(
        "forged run, no identity token",
        w.safe(&f, &project, &forged, &["deploy"]),
        &f,
    );
    let text = format!("{}{}", out.stdout, out.stderr);
    assert_refused("forged run", out.code(), &text, &project, &f);
    assert!(text.contains("id-token: write"), "{text}");
    assert!(issuer.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------
// 9. wrangler's dotenv, exactly (issue 11): the `.env` shapes that pick the environment, and a
//    `.env` wrangler would load that we cannot read whole.

/// A `.env.local` (or none) and the Worker and environment wrangler then deploys.
type DotenvShape = (
    &'static str,
    Option<&'static [u8]>,
    (&'static str, &'static str),
);

/// With `CLOUDFLARE_ENV=staging` in `.env`, each `.env.local` below makes the real wrangler
/// deploy the Worker named here, and explain names the same Worker and environment (and refuses
/// an agent when that is not staging).
#[test]
fn e2e_dotenv_shapes_pick_the_environment_wrangler_deploys() {
    let staging = ("sw-e2e-staging", "staging");
    let production = ("sw-e2e-production", "production");
    let shapes: [DotenvShape; 7] = [
        ("no-local", None, staging),
        ("empty-value", Some(b"CLOUDFLARE_ENV=\n"), (WORKER_NAME, "")),
        (
            "bom",
            Some(b"\xEF\xBB\xBFCLOUDFLARE_ENV=production\n"),
            production,
        ),
        ("colon", Some(b"CLOUDFLARE_ENV: production\n"), production),
        (
            "colon-no-space",
            Some(b"CLOUDFLARE_ENV:production\n"),
            staging,
        ),
        (
            "quoted-next-line",
            Some(b"CLOUDFLARE_ENV=\n\"production\"\n"),
            production,
        ),
        (
            "two-lines",
            Some(b"CLOUDFLARE_ENV\n=production\n"),
            production,
        ),
    ];
    let w = World::new();
    for (name, local, (worker, env)) in shapes {
        let project = w.work().join(name);
        write_project_with(&project, &staging_without_routes());
        fs::write(project.join(".env"), "CLOUDFLARE_ENV=staging\n").expect("write .env");
        if let Some(local) = local {
            fs::write(project.join(".env.local"), local).expect("write .env.local");
        }
        let claim = explain_matches_wrangler(&w, &project, &[], &["deploy"]);
        assert_eq!(claim["worker"], worker, "{name}: {claim}");
        assert_eq!(claim["environment"], env, "{name}: {claim}");
        let agent = w.explain(&project, &[("CLAUDECODE", "1")], &["deploy"]);
        let expected = if env == "staging" { "run" } else { "refuse" };
        assert_eq!(
            agent["decision"], expected,
            "{name}: an agent's deploy: {agent}"
        );
    }
}

/// A `.env` over 8 MiB: the real wrangler loads it whole (the token after the padding reaches
/// the API); safe-wrangler refuses the call, names the file and says why. A FIFO `.env.local`:
/// safe-wrangler refuses at once (it does not wait for a writer, as wrangler would).
#[test]
fn e2e_dotenv_wrangler_would_read_but_we_cannot_is_refused() {
    let w = World::new();
    let project = w.work().join("big");
    fake_api::write_project(&project);
    let mut big = b"# padding\n".repeat(900_000);
    big.extend_from_slice(format!("CLOUDFLARE_API_TOKEN={DOTENV_TOKEN}\n").as_bytes());
    fs::write(project.join(".env"), &big).expect("write .env");

    let f = fake(false);
    let r = run(
        "wrangler whoami (big .env)",
        w.direct(&f, &project, &[], &["whoami"]),
        &f,
    );
    r.assert_success(&f.report());
    assert_all_carry("wrangler whoami", &f, &Credential::bearer(DOTENV_LABEL));

    let f = fake(false);
    let r = run(
        "safe-wrangler whoami (big .env)",
        w.safe(&f, &project, &[], &["whoami"]),
        &f,
    );
    let out = format!("{}{}", r.stdout, r.stderr);
    assert_refused("big .env", r.code(), &out, &project, &f);
    assert!(out.contains("/.env,") && out.contains("8 MiB"), "{out}");
    let claim = w.explain(&project, &[], &["whoami"]);
    assert_eq!(claim["decision"], "refuse", "{claim}");
    assert!(
        claim["reason"]
            .as_str()
            .is_some_and(|r| r.contains("8 MiB")),
        "{claim}"
    );

    let project = w.work().join("fifo");
    fake_api::write_project(&project);
    nix::unistd::mkfifo(
        &project.join(".env.local"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .expect("mkfifo");
    let f = fake(false);
    let r = run(
        "safe-wrangler whoami (FIFO .env.local)",
        w.safe(&f, &project, &[], &["whoami"]),
        &f,
    );
    let out = format!("{}{}", r.stdout, r.stderr);
    assert_refused("FIFO .env.local", r.code(), &out, &project, &f);
    assert!(out.contains(".env.local") && out.contains("FIFO"), "{out}");
    let claim = w.explain(&project, &[], &["deploy", "--dry-run"]);
    assert_eq!(claim["decision"], "refuse", "{claim}");
}

// ---------------------------------------------------------------------------------------------
// Outcomes: a confirmed deploy whose real wrangler fails.

#[test]
fn e2e_a_confirmed_deploy_that_fails_exits_with_wranglers_code_and_records_it() {
    let w = World::new();
    w.login();
    let project = w.work().join("p");
    fs::create_dir_all(&project).unwrap();
    // The entry point is missing: wrangler fails before any request.
    fs::write(
        project.join("wrangler.json"),
        r#"{"name": "shop", "main": "src/missing.js", "compatibility_date": "2025-01-01"}"#,
    )
    .unwrap();
    let f = fake(false);
    let direct = fake_api::run_wrangler(w.direct(&f, &project, &[], &["deploy"]));
    let expected = direct.code();
    assert!(
        expected.is_some_and(|c| c != 0),
        "wrangler itself should fail: {expected:?}"
    );
    let log = w.work().join("audit.jsonl");
    let log_str = log.display().to_string();
    let r = run_in_pty(
        w.safe_base(
            &f,
            &project,
            &[("SAFE_WRANGLER_LOG", &log_str)],
            &["deploy"],
        ),
        Some("shop"),
        fake_api::WRANGLER_TIMEOUT,
    );
    assert_eq!(r.code, expected, "{}", r.text);
    assert!(
        r.text.contains("missing.js"),
        "wrangler's own error: {}",
        r.text
    );
    let last: Value =
        serde_json::from_str(fs::read_to_string(&log).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!(last["decision"], "confirmed", "{last}");
    assert_eq!(
        last["result"]["exit"],
        Value::from(expected.unwrap()),
        "{last}"
    );
    assert!(f.requests().is_empty(), "{}", f.report());
}

// ---------------------------------------------------------------------------------------------
// `plan --remote`: what is live, by read-only calls with the caller's own login.

#[test]
fn e2e_plan_remote_lists_the_migrations_not_yet_applied_with_the_oauth_login() {
    let w = World::new();
    w.login();
    let project = w.work().join("p");
    fake_api::write_project(&project);
    let f = fake(true);
    let args = [
        "plan",
        "--remote",
        "--json",
        "--",
        "d1",
        "migrations",
        "apply",
        "DB",
        "--remote",
    ];
    let r = run(
        "plan --remote",
        w.safe(&f, &project, &[("CLOUDFLARE_API_TOKEN", ENV_TOKEN)], &args),
        &f,
    );
    r.assert_success(&f.report());
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let live = &v["remote"][0];
    assert_eq!(live["command"][2], "list", "{v}");
    assert_eq!(live["exit"], 0, "{v}\n{}", f.report());
    assert_eq!(
        live["pending"],
        json!([fake_api::migration_name()]),
        "{v}\n{}",
        f.report()
    );
    let requests = f.requests();
    assert!(!requests.is_empty(), "no request was made");
    for req in &requests {
        assert_eq!(req.credential, oauth(), "{}", f.report());
        // Read-only: the migrations table is only read.
        assert!(
            !req.body.to_ascii_lowercase().contains("insert into"),
            "{}",
            f.report()
        );
    }
}

#[test]
fn e2e_plan_remote_shows_the_deployment_now_serving() {
    let w = World::new();
    w.login();
    let project = w.work().join("p");
    fake_api::write_project(&project);
    let f = fake(true);
    let r = run(
        "plan --remote deploy",
        w.safe(
            &f,
            &project,
            &[("CLOUDFLARE_API_TOKEN", ENV_TOKEN)],
            &["plan", "--remote", "--json", "--", "deploy"],
        ),
        &f,
    );
    r.assert_success(&f.report());
    let v: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let live = &v["remote"][0];
    assert_eq!(live["command"], json!(["deployments", "status"]), "{v}");
    assert_eq!(live["exit"], 0, "{v}\n{}", f.report());
    let requests = f.requests();
    assert!(
        requests.iter().any(|r| r.path.ends_with("/deployments")),
        "{}",
        f.report()
    );
    assert!(
        requests
            .iter()
            .all(|r| r.method == "GET" && r.credential == oauth()),
        "{}",
        f.report()
    );
}
