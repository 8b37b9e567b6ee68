/**
 * The import direction of docs/architecture.md: each folder of src/ imports only the folders below
 * it (spec imports nothing; kernels import neither autograd nor plan; plan knows no concrete
 * backend), and the page in web/ uses only the package's public entry. Read from the sources, so a
 * new import against the direction fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');

/** What each unit of src/ (a folder, or a top-level file) may import besides itself. */
const allowed: Record<string, readonly string[]> = {
  spec: [],
  util: ['spec'],
  profile: ['spec', 'util'],
  kernels: ['spec', 'util', 'profile'],
  plan: ['spec', 'util', 'kernels'],
  autograd: ['spec', 'util', 'kernels', 'plan', 'profile'],
  backends: ['plan', 'kernels'],
  functional: ['spec', 'util', 'kernels', 'plan', 'autograd', 'backends', 'profile'],
  async: ['spec', 'util', 'kernels', 'plan', 'autograd', 'functional', 'backends'],
  nn: ['spec', 'util', 'plan', 'autograd', 'functional', 'async'],
  optim: ['spec', 'util', 'autograd'],
  api: ['spec', 'util', 'plan', 'autograd', 'functional', 'async', 'nn'],
  io: ['spec', 'util', 'kernels', 'autograd', 'nn'],
  stream: ['spec', 'util', 'autograd', 'functional', 'nn', 'api'],
  explain: ['spec', 'util'],
  cli: ['spec', 'util', 'explain', 'plan', 'autograd', 'functional', 'nn', 'api', 'io'],
  index: ['spec', 'util', 'kernels', 'plan', 'autograd', 'functional', 'backends', 'async', 'nn', 'optim', 'api', 'io', 'stream', 'profile', 'explain'],
};

/** Type-only imports upward that vanish at run time: a module names the Stream its hook returns (src/stream installs the hook). */
const typesFrom: Record<string, readonly string[]> = { nn: ['stream'], profile: ['autograd', 'nn'] };

/** Folders of src/kernels that are backends: only plan/ and the composition root (src/backends.ts) may name them. */
const backendFolders = ['ref', 'cpu', 'wasm', 'threads'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : /\.ts$/.test(name) ? [p] : [];
  });
}

/** Module specifiers of static imports, re-exports, side-effect imports and dynamic imports. */
function specifiers(text: string, withTypes = true): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s([^;'"]*?)from\s*['"]([^'"]+)['"]/g))
    if (withTypes || !/^type\s/.test(m[1])) out.push(m[2]);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) out.push(m[1]);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]);
  return out;
}

const unitOf = (file: string): string => relative(src, file).split(sep)[0].replace(/\.[jt]s$/, '');

test('every folder of src/ imports only the folders its direction allows', () => {
  const wrong: string[] = [];
  const all = files(src);
  assert.ok(all.length > 50, 'the sources were found');
  for (const file of all) {
    const from = unitOf(file);
    assert.ok(from in allowed, `${relative(root, file)}: the unit '${from}' has no import direction in this test and docs/architecture.md`);
    const text = readFileSync(file, 'utf8'), runtime = new Set(specifiers(text, false));
    for (const s of specifiers(text)) {
      if (!s.startsWith('.')) continue; // node: built-ins and packages
      const target = resolve(dirname(file), s);
      if (!target.startsWith(src + sep)) { wrong.push(`${relative(root, file)} imports ${s}, outside src/`); continue; }
      const to = unitOf(target);
      const typeOnly = !runtime.has(s) && (typesFrom[from] ?? []).includes(to);
      if (to !== from && !allowed[from].includes(to) && !typeOnly) wrong.push(`${relative(root, file)} (${from}) imports ${s} (${to})`);
      // Backends are found through the registry: plan/ and the kernels of other backends do not name them.
      const rel = relative(join(src, 'kernels'), target).split(sep);
      if (from === 'plan' && to === 'kernels' && backendFolders.includes(rel[0]))
        wrong.push(`${relative(root, file)} (plan) imports the concrete backend ${s}`);
    }
  }
  assert.deepEqual(wrong, [], `imports against the direction:\n${wrong.join('\n')}`);
});

test('the page in web/ uses only the package entry (convkit) and its own files', () => {
  const wrong: string[] = [];
  for (const file of files(join(root, 'web', 'src')))
    for (const s of specifiers(readFileSync(file, 'utf8')))
      if (s.startsWith('.') ? !resolve(dirname(file), s).startsWith(join(root, 'web') + sep) : s !== 'convkit') wrong.push(`${relative(root, file)} imports ${s}`);
  assert.deepEqual(wrong, []);
});

test('the checker sees every kind of import it is meant to', () => {
  const text = `import { a } from './a.js';\nimport type { B } from "../b.js";\nexport { c } from './c.js';\nimport './d.js';\nconst e = await import('./e.js');\nimport {\n  f,\n  g,\n} from '../f.js';`;
  assert.deepEqual(specifiers(text).sort(), ['../b.js', '../f.js', './a.js', './c.js', './d.js', './e.js']);
  assert.deepEqual(specifiers(text, false).sort(), ['../f.js', './a.js', './c.js', './d.js', './e.js'], 'without the type-only import');
});
