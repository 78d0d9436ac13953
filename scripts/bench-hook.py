#!/usr/bin/env python3
"""Per-call latency of `safe-wrangler hook claude`, one process per command line as agents run it.

For every line of tests/hook-corpus.txt it spawns the release binary with Claude Code's
PreToolUse JSON on stdin and times the call; as a baseline measured in the same run it spawns
`/bin/cat` (which reads the same stdin and exits) the same way. Prints p50/p99 of both and the
ratio. Then the size cases: one command line of 200 wrangler calls against a 1 MB config, with
and without `CLOUDFLARE_ENV` on the line. Usage: scripts/bench-hook.py [ROUNDS]
The binary is the one install.sh builds (static on Linux with glibc), or SAFE_WRANGLER_BENCH_BIN.
With SAFE_WRANGLER_BENCH_BEFORE=<an older safe-wrangler binary>, that binary is timed too,
interleaved with this one, so a change is measured before and after in the same run.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
install = tempfile.TemporaryDirectory()
binary = os.environ.get("SAFE_WRANGLER_BENCH_BIN")
if not binary:
    subprocess.run([os.path.join(ROOT, "install.sh"), "--prefix", install.name], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    binary = os.path.join(install.name, "bin/safe-wrangler")
before = os.environ.get("SAFE_WRANGLER_BENCH_BEFORE")
lines = []
with open(os.path.join(ROOT, "tests/hook-corpus.txt"), encoding="utf-8") as f:
    for raw in f:
        raw = raw.rstrip("\n")
        if not raw or raw.startswith("#"):
            continue
        # `\n` is a newline and `\\` a backslash (the corpus header says so).
        out, i = [], 0
        while i < len(raw):
            if raw[i] == "\\" and i + 1 < len(raw) and raw[i + 1] in "n\\":
                out.append("\n" if raw[i + 1] == "n" else "\\")
                i += 2
            else:
                out.append(raw[i])
                i += 1
        lines.append("".join(out))

with tempfile.TemporaryDirectory() as project:
    with open(os.path.join(project, "wrangler.toml"), "w") as f:
        f.write('name = "shop"\n')
    env = {"PATH": "/usr/bin:/bin", "HOME": project, "XDG_CONFIG_HOME": os.path.join(project, ".config")}

    def timed(argv, payload):
        start = time.perf_counter()
        proc = subprocess.run(argv, input=payload, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=project)
        return time.perf_counter() - start, proc

    hook, base, old, denied = [], [], [], 0
    for _ in range(rounds):
        for cmd in lines:
            payload = json.dumps({"session_id": "bench", "cwd": project, "hook_event_name": "PreToolUse",
                                  "tool_name": "Bash", "tool_input": {"command": cmd}}).encode()
            t, proc = timed([binary, "hook", "claude"], payload)
            if proc.returncode not in (0,):
                sys.exit(f"hook failed ({proc.returncode}) on {cmd!r}: {proc.stderr.decode()}")
            denied += b'"deny"' in proc.stdout
            hook.append(t)
            t, _ = timed(["/bin/cat"], payload)
            base.append(t)
            if before:
                t, _ = timed([before, "hook", "claude"], payload)
                old.append(t)

    # The size cases: 200 wrangler calls on one line against a 1 MB config.
    with open(os.path.join(project, "wrangler.jsonc"), "w") as f:
        f.write(subprocess.run([sys.executable, os.path.join(ROOT, "scripts/bench-configs.py"), "1mb"],
                               check=True, capture_output=True, text=True).stdout)
    os.remove(os.path.join(project, "wrangler.toml"))
    size, timeouts = {}, {}
    lines200 = {
        "200 calls": " ; ".join(["wrangler deploy --dry-run"] * 200),
        "200 calls, CLOUDFLARE_ENV": " ; ".join(["CLOUDFLARE_ENV=env1 wrangler deploy --dry-run"] * 200),
    }
    for _ in range(3):
        for name, cmd in lines200.items():
            payload = json.dumps({"session_id": "bench", "cwd": project, "hook_event_name": "PreToolUse",
                                  "tool_name": "Bash", "tool_input": {"command": cmd}}).encode()
            for label, prog in [("hook", binary)] + ([("before", before)] if before else []):
                t, proc = timed([prog, "hook", "claude"], payload)
                if proc.returncode != 0 and label == "hook":
                    sys.exit(f"{label} failed ({proc.returncode}) on the 200-call line: {proc.stderr.decode()}")
                size.setdefault((name, label), []).append(t)
                if proc.returncode != 0:
                    timeouts[(name, label)] = proc.stderr.decode().strip()

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000

print(f"calls: {len(hook)} ({len(lines)} command lines x {rounds}), denied: {denied}, "
      f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
print(f"hook claude: p50 {pct(hook, 0.50):.2f} ms  p99 {pct(hook, 0.99):.2f} ms  mean {statistics.mean(hook) * 1000:.2f} ms")
if old:
    print(f"before:      p50 {pct(old, 0.50):.2f} ms  p99 {pct(old, 0.99):.2f} ms  mean {statistics.mean(old) * 1000:.2f} ms")
print(f"/bin/cat:    p50 {pct(base, 0.50):.2f} ms  p99 {pct(base, 0.99):.2f} ms  (process spawn baseline)")
print(f"ratio p50 {pct(hook, 0.5) / pct(base, 0.5):.2f}  p99 {pct(hook, 0.99) / pct(base, 0.99):.2f}; "
      f"p99 over /bin/cat's: {pct(hook, 0.99) - pct(base, 0.99):.2f} ms (goal: within 1 ms)")
if old:
    print(f"before p99 over /bin/cat's: {pct(old, 0.99) - pct(base, 0.99):.2f} ms")
for (name, label), ts in size.items():
    note = f" (blocked: {timeouts[(name, label)]})" if (name, label) in timeouts else ""
    print(f"{name} against a 1 MB config, {label}: median of {len(ts)} {statistics.median(ts) * 1000:.1f} ms (goal < 60 ms){note}")
