#!/usr/bin/env node
// The `safe-wrangler` command of the npm package: finds the native binary for this platform
// (an optional dependency such as @safe-wrangler/linux-x64) and runs it with the same argv,
// stdin, stdout and stderr, then exits with its exit code or dies of its signal.
//
// This launcher costs a Node start-up per call, so nothing should be wired to it for every
// wrangler call: `protect`, `hook install` and `shim` always write the native binary's own path
// (they run inside the native binary, which knows where it is).
'use strict';

const { spawn } = require('child_process');
const path = require('path');

// Set to a binary's path to run that one instead of the platform package's.
const OVERRIDE = 'SAFE_WRANGLER_BINARY';

// `${process.platform}-${process.arch}` -> the package that holds its binary. Keep in step with
// optionalDependencies in package.json (scripts/npm-pack.sh writes both from one list).
const PLATFORM_PACKAGES = {
  'linux-x64': '@safe-wrangler/linux-x64',
  'linux-arm64': '@safe-wrangler/linux-arm64',
  'darwin-x64': '@safe-wrangler/darwin-x64',
  'darwin-arm64': '@safe-wrangler/darwin-arm64',
};

function fail(message) {
  process.stderr.write(`safe-wrangler: ${message}\n`);
  process.exit(1);
}

function binaryPath() {
  const override = process.env[OVERRIDE];
  if (override) {
    return path.resolve(override);
  }
  const platform = `${process.platform}-${process.arch}`;
  const pkg = PLATFORM_PACKAGES[platform];
  if (!pkg) {
    fail(
      `no prebuilt binary for ${platform}: build it with \`cargo install safe-wrangler\` and set ${OVERRIDE} to its path`,
    );
  }
  try {
    return require.resolve(`${pkg}/bin/safe-wrangler`);
  } catch {
    const version = require('../package.json').version;
    fail(
      `the package ${pkg} (the binary for ${platform}) is not installed; install it with \`npm install ${pkg}@${version}\` (it is an optional dependency: an install with --omit=optional or --no-optional leaves it out), or set ${OVERRIDE}`,
    );
  }
  return undefined;
}

const binary = binaryPath();
const child = spawn(binary, process.argv.slice(2), { stdio: 'inherit' });

// Signals sent to this launcher reach the binary; a terminal's Ctrl-C reaches both already
// (same process group), so the launcher itself only waits.
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
const handlers = FORWARDED.map((signal) => {
  const handler = () => {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, signal);
      } catch {
        // already gone
      }
    }
  };
  process.on(signal, handler);
  return [signal, handler];
});

child.on('error', (error) => {
  fail(`cannot run ${binary}: ${error.code || error.message}`);
});

child.on('exit', (code, signal) => {
  if (signal) {
    // Die of the same signal, so the caller sees what it would have seen without us.
    for (const [name, handler] of handlers) {
      process.removeListener(name, handler);
    }
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code === null ? 1 : code);
});
