/**
 * What `npm pack` ships: every `exports`, `types` and `bin` target; every relative import and
 * worker URL of the shipped JavaScript resolving inside the tarball; no source map (or one whose
 * sources are all shipped); LICENSE (MIT, as package.json says); the repository fields; README
 * links that resolve inside the package or are absolute; and an engines floor that matches what
 * the code needs (process.getBuiltinModule), with a warning, once, below it. And the tarball
 * installed into a fresh Node project: ESM and CommonJS imports, threads, files, the CLI.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { ensureBuilt, installPacked, ROOT } from './helpers/build.js';
import { withTempDir } from './helpers/tmp.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, any>;
let files: Set<string>;

before(() => {
  ensureBuilt(join(ROOT, 'dist/index.js'));
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [info] = JSON.parse(out) as { files: { path: string }[] }[];
  files = new Set(info.files.map((f) => f.path));
});

const targets = (v: unknown): string[] => (typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).flatMap(targets) : []);
const rel = (p: string) => normalize(p).replace(/^\.\//, '');

test('package: every exports, main, types and bin target is in the tarball', () => {
  const all = [...targets(pkg.exports), pkg.main, pkg.types, ...targets(pkg.bin)];
  assert.ok(all.length >= 6);
  for (const t of all) assert.ok(files.has(rel(t)), `${t} is not shipped`);
  assert.ok(readFileSync(join(ROOT, rel(pkg.bin.convkit)), 'utf8').startsWith('#!/usr/bin/env node'));
});

test('package: each relative import and worker URL of the shipped JavaScript resolves to a shipped file', () => {
  const js = [...files].filter((f) => f.endsWith('.js'));
  let checked = 0;
  for (const f of js) {
    const src = readFileSync(join(ROOT, f), 'utf8');
    const specs = [...src.matchAll(/(?:from\s+|import\s*\(\s*|new URL\(\s*)['"](\.{1,2}\/[\w./-]+)['"]/g)].map((m) => m[1]);
    for (const s of specs) {
      const target = normalize(join(dirname(f), s));
      assert.ok(files.has(target), `${f} refers to ${s}, which is not shipped`);
      checked++;
    }
  }
  assert.ok(checked > 100, `only ${checked} references found`);
  // The worker entry points in particular.
  for (const w of ['dist/async/driver-worker.js', 'dist/kernels/threads/browser-worker.js', 'dist/kernels/threads/worker.js', 'dist/kernels/threads/supervisor.js'])
    assert.ok(files.has(w), w);
});

test('package: no source map points at a file that is not shipped', () => {
  for (const f of files) {
    if (f.endsWith('.map')) {
      const map = JSON.parse(readFileSync(join(ROOT, f), 'utf8')) as { sources: string[]; sourceRoot?: string };
      for (const s of map.sources) assert.ok(files.has(normalize(join(dirname(f), map.sourceRoot ?? '', s))), `${f} names ${s}, which is not shipped`);
    }
    if (f.endsWith('.js')) {
      const m = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(ROOT, f), 'utf8'));
      if (m && !m[1].startsWith('data:')) assert.ok(files.has(normalize(join(dirname(f), m[1]))), `${f} points at ${m[1]}, which is not shipped`);
    }
  }
});

test('package: LICENSE (MIT), repository, homepage and bugs', () => {
  assert.ok(files.has('LICENSE'));
  assert.equal(pkg.license, 'MIT');
  assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) \d{4} /);
  assert.match(pkg.repository.url, /^git\+https:\/\/github\.com\/[\w-]+\/[\w-]+\.git$/);
  assert.match(pkg.homepage, /^https:\/\//);
  assert.match(pkg.bugs.url, /^https:\/\/.*\/issues$/);
  assert.ok(files.has('README.md'));
});

test('package: README links resolve inside the package or are absolute', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((l) => !l.startsWith('#'));
  assert.ok(links.length > 0);
  for (const l of links) {
    if (/^[a-z]+:\/\//i.test(l)) continue;
    assert.ok(files.has(rel(l.split('#')[0])), `README links ${l}, which is not in the package`);
  }
});

test('package: the engines floor is what the threads need; below it a warning, once, and the calls still compute', () => {
  assert.equal(pkg.engines.node, '^20.16.0 || >=22.3.0');
  const [maj, min] = process.versions.node.split('.').map(Number);
  assert.ok((maj === 20 && min >= 16) || maj > 22 || (maj === 22 && min >= 3), `this Node ${process.versions.node} is below the floor`);
  // An older Node, imitated: no process.getBuiltinModule.
  const script = `delete process.getBuiltinModule;
    const { conv1d, conv1dAsync, tensor, getNumThreads, asyncThreads } = await import(${JSON.stringify(join(ROOT, 'dist/index.js'))});
    const x = tensor(Array.from({ length: 64 * 3000 }, (_, i) => i % 7), [1, 64, 3000]), w = tensor(Array.from({ length: 64 * 64 * 3 }, (_, i) => i % 5 - 2), [64, 64, 3]);
    const a = conv1d(x, w), b = await conv1dAsync(x, w), c = conv1d(x, w);
    console.log(JSON.stringify({ same: a.data.every((v, i) => v === b.data[i] && v === c.data[i]), threads: getNumThreads(), asyncThreads: asyncThreads(), y0: a.data[0] }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { same: boolean; threads: number; asyncThreads: number; y0: number };
  assert.equal(out.same, true);
  assert.equal(out.threads, 1);
  // y[0, 0, 0] = Σ_c Σ_k x[0, c, k] · w[0, c, k], worked out here.
  let y0 = 0;
  for (let c = 0; c < 64; c++) for (let k = 0; k < 3; k++) y0 += ((c * 3000 + k) % 7) * ((c * 3 + k) % 5 - 2);
  assert.equal(out.y0, y0);
  const warnings = r.stderr.split('\n').filter((l) => l.includes('CONVKIT_NODE_VERSION') || l.includes('getBuiltinModule'));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0], /Node \d+\.\d+\.\d+ has no process\.getBuiltinModule \(Node \^20\.16\.0 or >=22\.3\.0 has\): the WebAssembly kernels and the async API run on one thread/);
});

test('package: installed from the tarball into a fresh Node project, it imports, computes on threads, reads and writes files, and its CLI runs', () => {
  withTempDir('install', (dir) => {
    const pkgDir = installPacked(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'first-hour', type: 'module', private: true }));
    writeFileSync(join(dir, 'app.js'), `import { conv1d, conv1dAsync, randn, asyncStats, getNumThreads } from 'convkit';
      import { saveNpz, loadNpz } from 'convkit/node';
      const x = randn([1, 64, 4096], { seed: 1 }), w = randn([64, 64, 5], { seed: 2 });
      const a = conv1d(x, w), b = await conv1dAsync(x, w);
      saveNpz('out.npz', { y: a });
      const back = loadNpz('out.npz').y;
      console.log(JSON.stringify({ same: a.data.every((v, i) => v === b.data[i] && v === back.data[i]), threads: getNumThreads(), stats: asyncStats() }));`);
    writeFileSync(join(dir, 'app.cjs'), `import('convkit').then((m) => console.log(typeof m.conv1d));`);
    const r = spawnSync(process.execPath, ['app.js'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    const out = JSON.parse(r.stdout) as { same: boolean; threads: number; stats: { offloaded: number; threads: number; unitsByWorkers: number } };
    assert.equal(out.same, true);
    assert.equal(out.threads, 2);
    assert.equal(out.stats.offloaded, 1);
    assert.equal(out.stats.threads, 2);
    // CommonJS loads it with a dynamic import.
    assert.equal(execFileSync(process.execPath, ['app.cjs'], { cwd: dir, encoding: 'utf8' }), 'function\n');
    // The CLI from the installed layout.
    assert.equal(execFileSync(process.execPath, [join(pkgDir, pkg.bin.convkit), '--version'], { cwd: dir, encoding: 'utf8' }), `${pkg.version}\n`);
    assert.match(execFileSync(process.execPath, [join(pkgDir, pkg.bin.convkit), 'shape', 'conv1d', '--input', '1,1,10', '--weight', '1,1,3'], { cwd: dir, encoding: 'utf8' }), /output \[1, 1, 8\]/);
  });
});
