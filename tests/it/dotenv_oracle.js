// The oracle for tests/it/dotenv.rs: wrangler's own dotenv code, taken at run time from the
// installed wrangler bundle (wrangler-dist/cli.js), never copied. It evaluates, unchanged, the
// bundled modules dotenv@16.3.1 and dotenv-expand@12.0.2 and wrangler's `loadDotEnv`, inside a vm
// context (so an expansion that never ends is cut off by a timeout instead of hanging the test).
//
// Usage: node dotenv_oracle.js <cli.js> <cases.json> ; prints one JSON line per case:
//   {"parse": [[key, value], ...]}              for {"parse": base64}
//   {"load": [[key, value], ...]} | {"stuck": msg}   for {"files": [base64...], "env": {...}}
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const vm = require("vm");

const [cliPath, casesPath] = process.argv.slice(2);
const bundle = fs.readFileSync(cliPath, "utf8");

// The body of a bundled CommonJS module: `"<id>"(exports2, module2) {` ... `\n  }\n});`.
function moduleBody(id) {
  const head = `"${id}"(exports2, module2) {`;
  const start = bundle.indexOf(head);
  if (start < 0) throw new Error(`module ${id} not found in the bundle`);
  const from = start + head.length;
  const end = bundle.indexOf("\n  }\n});", from);
  return bundle.slice(from, end);
}

// A top-level function of the bundle, from `function name(` to the `}` closing it at column 0.
function topFunction(name) {
  const start = bundle.indexOf(`\nfunction ${name}(`);
  if (start < 0) throw new Error(`function ${name} not found in the bundle`);
  const end = bundle.indexOf("\n}\n", start + 1);
  return bundle.slice(start + 1, end + 2);
}

const dotenvId = "../../node_modules/.pnpm/dotenv@16.3.1/node_modules/dotenv/lib/main.js";
const expandId =
  "../../node_modules/.pnpm/dotenv-expand@12.0.2/node_modules/dotenv-expand/lib/main.js";
if (!bundle.includes("import_dotenv_expand2 = __toESM(require_main3())")) {
  throw new Error("loadDotEnv no longer uses the dotenv-expand module this oracle loads");
}

const fakeProcess = { env: {}, platform: "linux", cwd: () => "/" };
const context = vm.createContext({
  __require: require,
  __name: (f) => f,
  init_import_meta_url: () => {},
  require_package: () => ({ version: "16.3.1" }),
  console,
  Buffer,
  process: fakeProcess,
  logger2: { debug() {}, log() {} },
  isWindows5: false,
  caseInsensitiveEnv: () => ({}),
  path30__namespace: { default: path },
});
vm.runInContext(
  `
  const dotenv = { exports: {} };
  (function (exports2, module2) { ${moduleBody(dotenvId)} })(dotenv.exports, dotenv);
  const expand = { exports: {} };
  (function (exports2, module2) { ${moduleBody(expandId)} })(expand.exports, expand);
  var import_dotenv3 = { default: dotenv.exports };
  var import_dotenv_expand2 = { default: expand.exports };
  ${topFunction("loadDotEnv")}
  globalThis.parseDotenv = (buf) => Object.entries(dotenv.exports.parse(buf));
  globalThis.loadFiles = (paths) =>
    Object.entries(loadDotEnv(paths, { includeProcessEnv: true, silent: true }));
  `,
  context,
);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dotenv-oracle-"));
const out = [];
const cases = JSON.parse(fs.readFileSync(casesPath, "utf8"));
cases.forEach((c, n) => {
  if (c.parse !== undefined) {
    context.input = Buffer.from(c.parse, "base64");
    out.push(JSON.stringify({ parse: vm.runInContext("parseDotenv(input)", context) }));
    return;
  }
  const paths = c.files.map((b64, i) => {
    const p = path.join(dir, `${n}-${i}.env`);
    fs.writeFileSync(p, Buffer.from(b64, "base64"));
    return p;
  });
  fakeProcess.env = { ...c.env };
  context.input = paths;
  try {
    out.push(JSON.stringify({ load: vm.runInContext("loadFiles(input)", context, { timeout: 2000 }) }));
  } catch (e) {
    out.push(JSON.stringify({ stuck: String(e && e.message) }));
  }
  paths.forEach((p) => fs.unlinkSync(p));
});
fs.rmdirSync(dir);
process.stdout.write(out.join("\n") + "\n");
