#!/usr/bin/env python3
"""Wrangler configs for the benchmarks: `realistic` (about 2 KB: routes, bindings, a few
environments) or `1mb` (the same shape with as many environments as fit in 1 MiB).
Usage: scripts/bench-configs.py realistic|1mb   (JSON on stdout)"""
import json
import sys


def env(i):
    return {
        "name": f"shop-env{i}",
        "routes": [{"pattern": f"e{i}.example.com/*", "zone_name": "example.com"}],
        "kv_namespaces": [{"binding": "KV", "id": f"{i:032x}"}],
        "d1_databases": [{"binding": "DB", "database_name": f"db{i}", "database_id": f"{i:036d}"}],
        "vars": {"A": "x" * 40, "B": "y" * 40},
    }


def config(envs):
    return {
        "name": "shop",
        "main": "src/index.ts",
        "compatibility_date": "2025-01-01",
        "compatibility_flags": ["nodejs_compat"],
        "routes": [{"pattern": "shop.example.com/*", "zone_name": "example.com"}],
        "kv_namespaces": [{"binding": "KV", "id": "0" * 32}],
        "d1_databases": [{"binding": "DB", "database_name": "shop", "database_id": "0" * 36}],
        "r2_buckets": [{"binding": "ASSETS", "bucket_name": "shop-assets"}],
        "durable_objects": {"bindings": [{"name": "CART", "class_name": "Cart"}]},
        "migrations": [{"tag": "v1", "new_sqlite_classes": ["Cart"]}],
        "observability": {"enabled": True},
        "env": {f"env{i}": env(i) for i in range(envs)},
    }


if sys.argv[1:] == ["realistic"]:
    print(json.dumps(config(2), indent=2))
elif sys.argv[1:] == ["1mb"]:
    lo, hi = 1, 100000
    while lo < hi:
        mid = (lo + hi) // 2
        if len(json.dumps(config(mid), indent=2)) < 1 << 20:
            lo = mid + 1
        else:
            hi = mid
    print(json.dumps(config(lo - 1), indent=2))
else:
    sys.exit(__doc__)
