#!/usr/bin/env python3
"""Writes tests/hook-corpus.txt: realistic command lines an AI agent runs, for the shell parser.

About 70% ordinary work (git, ls, grep, tests, builds, docker, curl, ...; some of it names
wrangler as a file or a package) and 30% wrangler calls in every runner form the agent hooks
must recognise. Deterministic (fixed seed), so the file only changes when this script does.

    scripts/gen-hook-corpus.py > tests/hook-corpus.txt

The corpus is benchmark and regression data for src/shell/ (`corpus_lines_parse`,
`corpus_speed`); it carries no expected results.
"""

import random

HEADER = (
    "# Agent command lines, one per line; `\\n` stands for a newline and `\\\\` for a backslash "
    "inside a command; lines starting with # are comments. Written by scripts/gen-hook-corpus.py."
)

DIRS = ["src", "app", "apps/api", "packages/worker", "web", "worker", "site", "tests", "scripts", "docs"]
FILES = [
    "src/index.ts", "src/worker.ts", "src/routes/users.ts", "package.json", "tsconfig.json",
    "README.md", "wrangler.toml", "wrangler.jsonc", "schema.sql", "migrations/0001_init.sql",
    "src/lib.rs", "Cargo.toml", "vitest.config.ts", ".github/workflows/deploy.yml", "src/db.ts",
    "test/index.spec.ts", "worker-configuration.d.ts", "public/index.html", ".dev.vars.example",
]
PATTERNS = ["TODO", "fetch(", "env.DB", "export default", "handleRequest", "D1Database", "KVNamespace",
            "console.log", "FIXME", "compatibility_date", "async function", "Response.json"]
BRANCHES = ["main", "feature/auth", "fix/cors", "chore/deps", "feat/d1-migrations", "preview"]
PACKAGES = ["hono", "zod", "@cloudflare/workers-types", "vitest", "typescript", "drizzle-orm",
            "itty-router", "@cloudflare/vitest-pool-workers", "prettier", "eslint"]
MESSAGES = ["Fix CORS headers", "Add D1 schema for users", "Update dependencies", "Refactor router",
            "Add tests for auth middleware", "Handle missing env vars", "Bump wrangler to 4.x",
            "Document wrangler deploy steps", "Use KV for session cache"]
URLS = ["http://localhost:8787/", "http://127.0.0.1:8787/api/health", "https://example.com/api/users",
        "https://api.github.com/repos/acme/shop/pulls", "http://localhost:8787/api/items?limit=5"]

WRANGLER_COMMANDS = [
    "deploy", "deploy --env staging", "deploy --env production", "deploy --dry-run --outdir dist",
    "dev", "dev --remote", "dev --port 8788", "dev --local --persist-to .wrangler/state", "types",
    "whoami", "tail", "tail --format pretty", "tail my-worker --env staging", "d1 list",
    "d1 migrations list DB --local", "d1 migrations apply DB --local",
    "d1 migrations apply DB --remote", "d1 migrations create DB add_users",
    "d1 execute DB --local --command \"SELECT * FROM users LIMIT 5\"",
    "d1 execute DB --remote --command 'SELECT count(*) FROM orders'",
    "d1 execute DB --remote --file ./schema.sql", "kv namespace list",
    "kv key list --binding CACHE", "kv key get --binding CACHE session:42",
    "kv key put --binding CACHE greeting hello", "r2 bucket list",
    "r2 object put assets/logo.png --file ./public/logo.png", "r2 object get assets/logo.png --file /tmp/logo.png",
    "secret put API_KEY", "secret list", "secret delete OLD_KEY", "versions upload",
    "versions upload --tag v1.2.0", "versions list", "versions deploy", "deployments list",
    "rollback", "pages deploy dist --project-name site --branch feature-x", "pages deploy ./dist",
    "pages project list", "queues list", "login", "--version", "-h", "build", "check startup",
    "deploy --var ENVIRONMENT:staging --env staging", "deploy --minify", "dev --test-scheduled",
]

RUNNERS = [
    ("wrangler {c}", 6), ("npx wrangler {c}", 10), ("npx -y wrangler {c}", 2),
    ("npx wrangler@4 {c}", 2), ("npx --yes wrangler@latest {c}", 1), ("npm exec -- wrangler {c}", 2),
    ("npm x -- wrangler {c}", 1), ("npm exec wrangler -- {c}", 1), ("pnpm exec wrangler {c}", 3),
    ("pnpm dlx wrangler {c}", 1), ("pnpm wrangler {c}", 3), ("pnpx wrangler {c}", 1),
    ("yarn wrangler {c}", 3), ("yarn dlx wrangler {c}", 1), ("yarn exec wrangler {c}", 1),
    ("bunx wrangler {c}", 2), ("bun x wrangler {c}", 1), ("bun run wrangler {c}", 1),
    ("./node_modules/.bin/wrangler {c}", 2), ("node_modules/.bin/wrangler {c}", 1),
    ("node node_modules/wrangler/bin/wrangler.js {c}", 1), ("safe-wrangler {c}", 2),
    ("npx safe-wrangler {c}", 1), ("bash -c 'npx wrangler {c}'", 1), ("sh -c \"wrangler {c}\"", 1),
    ("timeout 120 npx wrangler {c}", 1), ("CLOUDFLARE_ENV=staging npx wrangler {c}", 1),
    ("env NODE_OPTIONS=--max-old-space-size=4096 npx wrangler {c}", 1),
]

PREFIXES = [("", 12), ("cd {d} && ", 4), ("npm run build && ", 2), ("git pull && ", 1),
            ("export CLOUDFLARE_ENV=staging; ", 1), ("npm ci && ", 1), ("pnpm build && ", 1)]
SUFFIXES = [("", 10), (" 2>&1 | tail -20", 2), (" 2>&1 | head -50", 1), (" > /tmp/wrangler.log 2>&1", 1),
            (" && echo done", 1), (" || true", 1), (" 2>&1", 1)]


def weighted(rng, items):
    return rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]


def fill(rng, template):
    return template.format(
        d=rng.choice(DIRS), f=rng.choice(FILES), g=rng.choice(FILES), p=rng.choice(PATTERNS),
        b=rng.choice(BRANCHES), k=rng.choice(PACKAGES), m=rng.choice(MESSAGES), u=rng.choice(URLS),
        n=rng.choice([5, 10, 20, 40, 80, 120]), a=rng.randint(1, 200), z=rng.randint(201, 400),
        port=rng.choice([8787, 3000, 5173, 8080]),
    )


ORDINARY = [
    "git status", "git status --short", "git diff", "git diff --stat", "git diff {f}",
    "git log --oneline -n {n}", "git log --oneline --graph -n {n}", "git add {f}", "git add -A",
    "git commit -m \"{m}\"", "git add -A && git commit -m \"{m}\"", "git checkout -b {b}",
    "git switch {b}", "git push origin {b}", "git push -u origin HEAD", "git pull --rebase",
    "git stash && git pull && git stash pop", "git show HEAD~1 --stat", "git rev-parse --show-toplevel",
    "git branch -a", "git fetch origin && git rebase origin/main", "git blame -L {a},{z} {f}",
    "git log -p -n 3 -- {f}", "git restore {f}", "git diff main...HEAD --name-only",
    "git commit -m \"$(cat <<'EOF'\n{m}\n\nCo-Authored-By: Claude <noreply@anthropic.com>\nEOF\n)\"",
    "ls", "ls -la", "ls -la {d}", "ls -la {d} | head -{n}", "tree -L 2 {d}", "pwd",
    "find {d} -name '*.ts' | head -{n}", "find . -name \"*.test.ts\" -not -path \"./node_modules/*\"",
    "find . -type f -name '*.sql' -newer package.json", "du -sh node_modules", "cat {f}",
    "head -n {n} {f}", "tail -n {n} {f}", "wc -l {f}", "sed -n '{a},{z}p' {f}",
    "grep -rn \"{p}\" {d}", "grep -rn '{p}' --include='*.ts' .", "rg \"{p}\" {d}", "rg -n '{p}' -g '!node_modules'",
    "rg -l \"{p}\" --type ts", "grep -c TODO {f}", "rg --files | head -{n}", "npm test", "npm run build",
    "npm run lint", "npm ci", "npm install", "npm install {k}", "npm install -D {k}", "npm run typecheck",
    "npm run test -- --watch=false", "npx tsc --noEmit", "npx vitest run", "npx vitest run {f}",
    "npx eslint {d} --fix", "npx prettier --check .", "npx prettier --write {f}", "npm outdated",
    "npm ls {k}", "pnpm install", "pnpm test", "pnpm run build", "pnpm add {k}", "pnpm lint",
    "yarn install", "yarn test", "yarn build", "bun install", "bun test", "bun run build",
    "cargo build", "cargo test", "cargo test --lib", "cargo clippy --all-targets -- -D warnings",
    "cargo fmt --check", "cargo run -- --help", "cargo build --release 2>&1 | tail -5",
    "python3 scripts/check.py", "python3 -m pytest -q", "pip install -r requirements.txt",
    "python3 -c \"import json; print(json.load(open('package.json'))['version'])\"",
    "curl -s {u} | jq .", "curl -sS -I {u}", "curl -s -X POST {u} -H 'Content-Type: application/json' -d '{{\"name\":\"x\"}}'",
    "docker build -t app .", "docker ps", "docker compose up -d", "docker compose logs --tail 50 api",
    "mkdir -p {d} && cp {f} {d}/", "mv {f} {f}.bak", "rm -rf dist .wrangler/tmp", "chmod +x scripts/deploy.sh",
    "echo \"{m}\" >> CHANGELOG.md", "cat > .dev.vars.example <<'EOF'\nAPI_KEY=\nDEBUG=false\nEOF",
    "cd {d} && npm test", "cd {d} && git status", "cd {d} && ls -la", "make", "make test", "node -v",
    "npm -v", "which node", "node scripts/build.mjs", "jq '.scripts' package.json",
    "jq '.dependencies | keys' package.json", "cat package.json | jq .devDependencies",
    "sed -i 's/{p}/{p}2/g' {f}", "for f in src/*.ts; do echo \"$f\"; wc -l \"$f\"; done",
    "export NODE_ENV=test && npm test", "NODE_ENV=production npm run build", "ps aux | grep node",
    "lsof -i :{port}", "kill $(lsof -t -i :{port})", "gh pr create --title \"{m}\" --body \"Closes #12\"",
    "gh pr view --comments", "gh run list --limit 5", "gh pr checks", "date -u +%Y-%m-%d",
    "sleep 2 && curl -s {u}", "env | grep -i node", "printenv PATH", "echo $PATH | tr ':' '\\n'",
    "test -f {f} && echo exists", "[ -d {d} ] || mkdir -p {d}", "diff -u {f} {g}",
    "tar czf dist.tgz dist", "openssl rand -hex 16", "uuidgen", "sort -u names.txt | head",
    "awk -F, '{{print $1}}' data.csv | sort | uniq -c", "xargs -n1 echo < list.txt",
    "find . -name '*.log' -mtime +7 -print0 | xargs -0 rm -f", "if [ -f .env ]; then echo has env; fi",
    "while read -r line; do echo \"$line\"; done < {f}", "npx tsx scripts/seed.ts",
    "npx drizzle-kit generate", "code {f}", "open http://localhost:{port}", "history | tail -20",
    # ordinary work that names wrangler without calling it
    "cat wrangler.toml", "cat wrangler.jsonc", "grep -n compatibility_date wrangler.toml",
    "rg -n \"wrangler\" package.json", "npm view wrangler version", "npm i -D wrangler@latest",
    "npm install --save-dev wrangler@4", "pnpm add -D wrangler", "yarn add -D wrangler",
    "bun add -d wrangler", "ls node_modules/.bin | grep wrangler", "git diff wrangler.toml",
    "git add wrangler.jsonc && git commit -m \"Bump wrangler compatibility date\"",
    "grep -rn 'wrangler deploy' .github docs", "which wrangler", "command -v wrangler",
    "sed -i 's/compatibility_date = .*/compatibility_date = \"2025-01-01\"/' wrangler.toml",
    "jq '.scripts.deploy' package.json | grep wrangler", "ls -la .wrangler/state", "rm -rf .wrangler",
    "echo 'Run wrangler deploy after merging' >> NOTES.md", "cat node_modules/wrangler/package.json | jq .version",
    "safe-wrangler explain -- deploy --env production", "safe-wrangler doctor", "safe-wrangler log --since 1h",
]

WRANGLER_EXTRA = [
    "echo \"logged in as $(npx wrangler whoami | head -1)\"",
    "npx wrangler d1 execute DB --local --command \"SELECT name FROM sqlite_master WHERE type='table'\" | tail -20",
    "cd {d} && npx wrangler types && npx tsc --noEmit",
    "npm run build && npx wrangler deploy --dry-run --outdir dist && ls dist",
    "npx wrangler kv key list --binding CACHE | jq '.[].name'",
    "npx wrangler tail --format json | head -n 20",
    "(cd {d} && npx wrangler dev --port 8788 &) && sleep 5 && curl -s http://localhost:8788/",
    "timeout 20 npx wrangler dev > /tmp/dev.log 2>&1 & sleep 8; curl -s http://localhost:8787/",
    "for env in staging preview; do npx wrangler deploy --env $env --dry-run; done",
    "npx wrangler d1 migrations apply DB --local && npm test",
    "git add -A && git commit -m \"{m}\" && npx wrangler deploy --env staging",
    "if npx wrangler whoami >/dev/null 2>&1; then echo ok; else echo 'not logged in'; fi",
    "npx wrangler secret put API_KEY <<< \"$API_KEY\"",
    "echo \"$SECRET\" | npx wrangler secret put API_KEY",
    "CLOUDFLARE_API_TOKEN=$CF_TOKEN npx wrangler deploy",
    "pnpm --filter api exec wrangler deploy",
    "source .env && npx wrangler deploy",
    "npx wrangler deploy --env $ENVIRONMENT",
]


def encode(command):
    return command.replace("\\", "\\\\").replace("\n", "\\n")


def main():
    rng = random.Random(20240521)
    ordinary = [fill(rng, rng.choice(ORDINARY)) for _ in range(860)]
    wrangler = []
    for _ in range(350):
        call = weighted(rng, RUNNERS).format(c=rng.choice(WRANGLER_COMMANDS))
        wrangler.append(fill(rng, weighted(rng, PREFIXES)) + call + weighted(rng, SUFFIXES))
    wrangler += [fill(rng, t) for t in WRANGLER_EXTRA]
    lines = ordinary + wrangler
    rng.shuffle(lines)
    print(HEADER)
    for line in lines:
        print(encode(line))


if __name__ == "__main__":
    main()
