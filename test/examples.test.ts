/**
 * Every examples/*.ts runs to a successful exit (they check their own results and set a failing exit
 * code otherwise); one that a package.json script runs (`npm run example`, `npm run train`) is run
 * through that script, so the script is what is tested. examples/models/ holds modules, not programs:
 * test/models.test.ts covers them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TSX = import.meta.resolve('tsx');
const scripts: Record<string, string> = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts;
const examples = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.ts')).sort();

/** The package.json script that is exactly `tsx examples/<file>`, if any. */
const scriptFor = (file: string): string | undefined =>
  Object.keys(scripts).find((s) => scripts[s].trim() === `tsx examples/${file}`);

function run(cmd: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, timeout: 240_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: `${stdout}${stderr}` });
    });
  });
}

test('examples: the example scripts of package.json name files in examples/', () => {
  assert.ok(examples.length > 0, 'examples/ holds programs');
  for (const s of ['example', 'train']) {
    const m = /^tsx (examples\/[\w.-]+\.ts)$/.exec(scripts[s]?.trim() ?? '');
    assert.ok(m, `npm run ${s} is 'tsx examples/<file>.ts'; got ${JSON.stringify(scripts[s])}`);
    assert.ok(existsSync(join(ROOT, m![1])), `npm run ${s}: ${m![1]} exists`);
  }
});

for (const file of examples) {
  const script = scriptFor(file);
  test(`examples: ${script ? `npm run ${script} (examples/${file})` : `tsx examples/${file}`} exits with status 0`, async () => {
    const { code, out } = script
      ? await run('npm', ['run', '--silent', script])
      : await run(process.execPath, ['--import', TSX, join('examples', file)]);
    assert.equal(code, 0, `examples/${file} failed:\n${out}`);
    assert.ok(out.trim().length > 0, `examples/${file} prints its results`);
  });
}
