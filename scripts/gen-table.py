#!/usr/bin/env python3
"""Generate src/core/wrangler/table.rs from ../shared/wrangler/{commands,classes}.json.

The generated file is committed; `cargo test` (tests/table.rs) fails when it drifts from
commands.json, so re-run this script after updating the shared facts:

    python3 scripts/gen-table.py > src/core/wrangler/table.rs && cargo fmt

Class mapping (../shared/wrangler/README.md): destructive -> production (and destructive=true),
secret -> production (secret=true), auth -> local except `auth token` (prints a credential:
production). Rows marked `uncertain` keep their proposed class; unknown commands never reach the
table and are classified as production by the classifier.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("SAFE_WRANGLER_SHARED") or os.path.join(HERE, "..", "..", "shared", "wrangler")

commands = json.load(open(os.path.join(SHARED, "commands.json")))
classes = {tuple(c["path"]): c for c in json.load(open(os.path.join(SHARED, "classes.json")))["commands"]}

KIND = {"boolean": "Bool", "string": "Value", "number": "Value", "string[]": "Array", "number[]": "Array", None: "Value", "count": "Count"}
CLASS = {"read": "Read", "local": "Local", "preview": "Preview", "production": "Production", "destructive": "Production",
         "secret": "Production", "dns": "Dns", "migration": "Migration", "auth": "Local",
         "secret+destructive": "Production"}


def flag_spec(f):
    longs, shorts = [], []
    for spelled in f["flags"]:
        if spelled.startswith("--"):
            longs.append(spelled[2:])
        elif spelled.startswith("-"):
            shorts.append(spelled[1:])
    for a in f.get("aliases") or []:
        if len(a) == 1:
            if a not in shorts:
                shorts.append(a)
        elif a not in longs:
            longs.append(a)
    if f["name"] not in longs:
        longs.insert(0, f["name"])
    kind = KIND[f["type"]]
    ls = ", ".join(json.dumps(x) for x in longs)
    ss = ", ".join("'%s'" % x for x in shorts)
    return "Flag { long: &[%s], short: &[%s], kind: FlagKind::%s }" % (ls, ss, kind)


def rs_class(name):
    return "Class::" + CLASS[name]


# Where we disagree with classes.json's proposal, and why (each found by running the real wrangler).
OVERRIDES = {
    # `init` runs create-cloudflare (or $WRANGLER_C3_COMMAND): another program that can deploy.
    "init": {"class": "Production"},
    # A remote export takes the production database offline while it runs; wrangler warns, then
    # skips its own prompt without a terminal.
    "d1 export": {"when_remote": "Some(Class::Production)"},
}


def row(cmd):
    path = tuple(cmd["path"])
    c = classes[path]
    joined = " ".join(path)
    base = c["class_default"]
    destructive = base in ("destructive",) or c.get("also") == "destructive"
    secret = base == "secret"
    klass = rs_class(base)
    if joined == "auth token":
        klass, secret = "Class::Production", True
    local_default = c["remote_by_default"] == "no"
    flipped = c.get("class_flipped") or {}
    remote_class = "None"
    local_flip = False
    dry_run = "None"
    push = False
    by = (flipped.get("by") or "")
    if flipped:
        if by.startswith("--remote") or by.startswith("--branch"):
            remote_class = "Some(%s)" % rs_class(flipped["class"])
            if "destructive" in flipped["class"]:
                destructive = True
        elif by.startswith("--local"):
            local_flip = True
        elif by.startswith("--dry-run"):
            dry_run = "Some(%s)" % rs_class(flipped["class"])
        elif by.startswith("--push"):
            push = True
    if joined == "pages deploy":
        remote_class = "None"  # branch handling is the classifier's (issue 4)
    if local_default and remote_class == "None" and joined not in ("pages dev",):
        # local by default with a remote switch but no proposed class: fail closed
        has_remote = any(f["name"] in ("remote",) for f in cmd["flags"])
        if has_remote:
            remote_class = "Some(Class::Production)"
    override = OVERRIDES.get(joined, {})
    if "class" in override:
        klass = "Class::" + override["class"]
    if "when_remote" in override:
        remote_class = override["when_remote"]
    behaviour = cmd.get("behaviour") or {}
    env_scoped = bool(behaviour.get("warnIfMultipleEnvsConfiguredButNoneSpecified"))
    redirect = bool(behaviour.get("useConfigRedirectIfAvailable")) or joined == "dev" or path[0] == "pages"
    flags = ",\n        ".join(flag_spec(f) for f in cmd["flags"])
    return (
        "Command {\n    path: %s,\n    class: %s,\n    destructive: %s,\n    secret: %s,\n"
        "    local_by_default: %s,\n    when_remote: %s,\n    local_flag_makes_local: %s,\n"
        "    when_dry_run: %s,\n    push_makes_production: %s,\n    env_scoped: %s,\n    config_redirect: %s,\n"
        "    flags: &[\n        %s\n    ],\n}"
        % (json.dumps(joined), klass, str(destructive).lower(), str(secret).lower(), str(local_default).lower(),
           remote_class, str(local_flip).lower(), dry_run, str(push).lower(), str(env_scoped).lower(),
           str(redirect).lower(), flags)
    )


out = []
out.append("// @generated by scripts/gen-table.py from ../shared/wrangler/commands.json and classes.json")
out.append("// (wrangler %s). Do not edit by hand: edit the script and re-run it." % commands["wrangler_version"])
out.append("#![allow(clippy::too_many_lines)]")
out.append("use super::{Class, Command, Flag, FlagKind};")
out.append("")
out.append("/// The wrangler version these rows were taken from.")
out.append("pub const WRANGLER_VERSION: &str = %s;" % json.dumps(commands["wrangler_version"]))
out.append("")
out.append("/// Flags every command accepts (yargs global options).")
out.append("pub static GLOBAL_FLAGS: &[Flag] = &[")
for f in commands["global_flags"]:
    out.append("    " + flag_spec(f) + ",")
out.append("];")
out.append("")
out.append("/// Namespaces: words that only group commands (`d1`, `kv namespace`). Alone they print help.")
ns = sorted(" ".join(n["path"]) for n in commands["namespaces"])
out.append("pub static NAMESPACES: &[&str] = &[%s];" % ", ".join(json.dumps(n) for n in ns))
out.append("")
out.append("/// Alias paths and the path they stand for (sorted by alias).")
al = sorted((" ".join(a["path"]), " ".join(a["alias_of"])) for a in commands["alias_commands"])
out.append("pub static ALIASES: &[(&str, &str)] = &[%s];" % ", ".join("(%s, %s)" % (json.dumps(a), json.dumps(b)) for a, b in al))
out.append("")
out.append("/// Every leaf command, sorted by path.")
out.append("pub static COMMANDS: &[Command] = &[")
for cmd in sorted(commands["commands"], key=lambda c: " ".join(c["path"])):
    out.append(row(cmd) + ",")
out.append("];")
sys.stdout.write("\n".join(out) + "\n")
