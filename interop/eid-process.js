// What the Node interop tests (interop/browser, interop/mdoc) share: running the `eid` binary
// with a clean environment, starting a long-running `eid` (serve, rp serve) and waiting for
// its "listening on URL" line, and stopping every child when the test process ends.
'use strict';

const { spawn, execFile } = require('node:child_process');
const { promisify } = require('node:util');

const execFileP = promisify(execFile);

/** The environment less any EID_* setting of the caller's (each test says what it means). */
function cleanEnv(env = {}) {
  const kept = Object.entries(process.env).filter(([k]) => !k.startsWith('EID_'));
  return { ...Object.fromEntries(kept), ...env };
}

/**
 * The helpers for one `eid` binary; every call is bounded by `timeoutMs`.
 * Children started here (and those the test adds to `children`) are stopped on exit.
 */
function eidProcesses(bin, timeoutMs) {
  const children = [];

  /** `eid ARGS`: resolves with stdout, rejects with stderr in the message. */
  async function eid(args, env = {}) {
    try {
      const { stdout } = await execFileP(bin, args, { env: cleanEnv(env), timeout: timeoutMs });
      return stdout;
    } catch (e) {
      e.message = `eid ${args.slice(0, 3).join(' ')}: exit ${e.code}\n${e.stderr || ''}`;
      throw e;
    }
  }

  /** Starts a long-running `eid` and resolves with the URL of its "listening on" line. */
  function start(args) {
    return new Promise((resolve, reject) => {
      const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() });
      children.push(child);
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`eid ${args[0]} did not start: ${err}`)), timeoutMs);
      child.stderr.on('data', (d) => { err += d; });
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/^listening on (\S+)\r?\n/m);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`eid ${args[0]} ended (${code}): ${err}`));
      });
    });
  }

  function stopChildren() {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  }
  process.on('exit', stopChildren);
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      stopChildren();
      process.exit(1);
    });
  }

  return { children, eid, start, stopChildren };
}

module.exports = { cleanEnv, eidProcesses };
