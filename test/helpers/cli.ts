/**
 * The `convkit` binary (dist/cli/main.js) spawned as a user runs it, for test/cli.test.ts and
 * test/cli-files.test.ts. Call `ensureBuilt(BIN)` (helpers/build.ts) in a `before` hook first.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './build.js';

export const BIN = join(ROOT, 'dist/cli/main.js');

export interface CliResult { code: number; out: string; err: string }

/** Runs `convkit ...args` (60 s at most). */
export function cli(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function succeeds(args: string[]): CliResult {
  const r = cli(...args);
  assert.equal(r.code, 0, `convkit ${args.join(' ')} failed: ${r.err}`);
  return r;
}

/** Runs `convkit ...args`, which must exit with 0; returns its stdout. */
export function ok(...args: string[]): string {
  return succeeds(args).out;
}

/** `ok`, and nothing on stderr in a pipe (no progress bar). */
export function quiet(...args: string[]): string {
  const r = succeeds(args);
  assert.equal(r.err, '', 'nothing on stderr in a pipe (no progress bar)');
  return r.out;
}

/** One clear line on stderr matching `pattern`, a non-zero exit and nothing on stdout; returns the line. */
export function fails(pattern: RegExp, ...args: string[]): string {
  const r = cli(...args);
  assert.notEqual(r.code, 0, `convkit ${args.join(' ')} should fail`);
  assert.equal(r.out, '');
  const lines = r.err.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr: ${r.err}`);
  assert.match(lines[0], pattern);
  return lines[0];
}
