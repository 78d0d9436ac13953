#!/usr/bin/env python3
"""Per-call latency of `safe-wrangler hook claude`, one process per command line as agents run it.

For every line of tests/hook-corpus.txt it spawns the release binary with Claude Code's
PreToolUse JSON on stdin and times the call; as a baseline measured in the same run it spawns
`/bin/cat` (which reads the same stdin and exits) the same way. Prints p50/p99 of both and the
ratio. Usage: scripts/bench-hook.py [ROUNDS]   (builds the release binary first)
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
subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
binary = os.path.join(ROOT, "target/release/safe-wrangler")
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

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000

print(f"calls: {len(hook)} ({len(lines)} command lines x {rounds}), denied: {denied}")
print(f"hook claude: p50 {pct(hook, 0.50):.2f} ms  p99 {pct(hook, 0.99):.2f} ms  mean {statistics.mean(hook) * 1000:.2f} ms")
if old:
    print(f"before:      p50 {pct(old, 0.50):.2f} ms  p99 {pct(old, 0.99):.2f} ms  mean {statistics.mean(old) * 1000:.2f} ms")
print(f"/bin/cat:    p50 {pct(base, 0.50):.2f} ms  p99 {pct(base, 0.99):.2f} ms  (process spawn baseline)")
print(f"ratio p50 {pct(hook, 0.5) / pct(base, 0.5):.2f}  p99 {pct(hook, 0.99) / pct(base, 0.99):.2f}  (target: p99 under 5 ms)")
