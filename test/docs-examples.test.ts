/**
 * Every TypeScript/JavaScript block of README.md and docs/*.md runs as written, and the values its
 * comments state are the values it computes (conventions: test/helpers/docs.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeBlocks, excerptMismatch, excerptOf, expectedIn, extractBlocks, instrument, isNoRun, parseLiteral, type DocBlock } from './helpers/docs.js';
import { withTempDirAsync } from './helpers/tmp.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TSX = import.meta.resolve('tsx');
const blocks = codeBlocks(ROOT);
/** WebGPU blocks (npm `webgpu`, Dawn) find SwiftShader when no Vulkan driver is named, as the GPU tests do. */
const GPU_ENV = { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json' };
const name = (b: DocBlock): string => `${b.file}:${b.line}`;

function runModule(file: string, cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, file], { cwd, env: GPU_ENV, timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

test('docs: README.md and docs/*.md hold code blocks to run', () => {
  assert.ok(blocks.some((b) => b.file === 'README.md'), 'README.md has ts/js blocks');
  assert.ok(blocks.some((b) => b.file.startsWith('docs/')), 'docs/*.md have ts/js blocks');
  for (const b of blocks)
    for (const f of b.flags)
      assert.ok(f === 'no-run' || f.startsWith('excerpt='), `${name(b)}: unknown fence flag '${f}' (known: no-run, excerpt=PATH)`);
});

test('docs: blocks marked no-run are listed', (t) => {
  const marked = blocks.filter(isNoRun);
  t.diagnostic(`${marked.length} of ${blocks.length} blocks are not run: ${marked.map(name).join(', ') || 'none'}`);
  for (const b of marked) assert.equal(excerptOf(b), undefined, `${name(b)}: no-run and excerpt= together`);
});

for (const b of blocks.filter((b) => excerptOf(b) !== undefined)) {
  test(`docs: ${name(b)} quotes ${excerptOf(b)} as it is`, () => {
    const missing = excerptMismatch(b, readFileSync(join(ROOT, excerptOf(b)!), 'utf8'));
    assert.deepEqual(missing, [], `${name(b)}: lines not found (in order) in ${excerptOf(b)}`);
  });
}

for (const b of blocks.filter((b) => !isNoRun(b) && excerptOf(b) === undefined)) {
  test(`docs: ${name(b)} runs as written`, async (t) => {
    await withTempDirAsync('doc', async (dir) => {
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir'); // bare specifiers: the project's packages
      const { source, checked } = instrument(b, ROOT);
      const file = join(dir, 'block.mts');
      writeFileSync(file, source);
      const { code, out } = await runModule(file, dir);
      assert.equal(code, 0, `${name(b)} failed:\n${out}`);
      t.diagnostic(`values asserted at lines ${checked.join(', ') || 'none'}`);
    });
  });
}

/** tsc over the blocks (strict, as a user compiles them); its messages name the doc lines. */
function typecheck(list: readonly DocBlock[]): Promise<{ code: number | null; out: string }> {
  return withTempDirAsync('doc-tsc', async (dir) => {
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const files = list.map((b, i) => {
      writeFileSync(join(dir, `block-${i}.mts`), instrument(b, ROOT).source);
      return `block-${i}.mts`;
    });
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], strict: true,
        noImplicitOverride: true, skipLibCheck: true, noEmit: true, types: ['node'],
      },
      files,
    }));
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      execFile(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { cwd: dir, timeout: 240_000, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, out: `${stdout}${stderr}` }));
    });
    const out = r.out.replace(/block-(\d+)\.mts\((\d+),(\d+)\)/g, (_m, i: string, l: string) => {
      const b = list[Number(i)];
      return `${b.file}:${b.line + Number(l) - 1}`;
    });
    return { code: r.code, out };
  });
}

test('docs: the blocks that run type-check (strict TypeScript, as a user compiles them)', async () => {
  const r = await typecheck(blocks.filter((b) => !isNoRun(b) && excerptOf(b) === undefined));
  assert.equal(r.code, 0, `type errors in the documentation's blocks:\n${r.out}`);
});

// The machinery itself: a wrong stated value must fail the block.

test('docs machinery: fences, literals and expected values', () => {
  const md = 'text\n```ts no-run\na;\n```\n~~~js\nb;\n~~~\n````ts\n```\n````\n```sh\nls\n```\n';
  const found = extractBlocks('x.md', md);
  assert.deepEqual(found.map((b) => [b.lang, b.flags, b.code, b.line]),
    [['ts', ['no-run'], 'a;', 3], ['js', [], 'b;', 6], ['ts', [], '```', 9], ['sh', [], 'ls', 12]]);
  assert.deepEqual(parseLiteral("[[1, -2.5e1], {a: 'x', \"b\": [true, null]}, NaN,]"),
    { ok: true, value: [[1, -25], { a: 'x', b: [true, null] }, NaN] });
  assert.deepEqual(parseLiteral('3×4'), { ok: false });
  assert.deepEqual(parseLiteral("{ '0.weight', '0.bias' }"), { ok: false });
  assert.deepEqual(expectedIn('→ [1, 8, 20]'), { ok: true, value: [1, 8, 20] });
  assert.deepEqual(expectedIn('outputSize picks the output padding: [1, 8, 19]'), { ok: true, value: [1, 8, 19] });
  assert.deepEqual(expectedIn('folds weight_g/weight_v (weight norm) into weight'), { ok: false });
});

test('docs machinery: a block whose comment states a wrong value fails, a right one passes', async () => {
  await withTempDirAsync('doc', async (dir) => {
    const code = (v: string): DocBlock => ({
      file: 'x.md', line: 10, lang: 'ts', flags: [],
      code: `import { tensor, convTranspose2d } from 'convkit';\nconvTranspose2d(tensor([[[[1]]]]), tensor([[[[1.1, 2.2]]]]));  // ${v}\n`,
    });
    const good = instrument(code('[[[[1.1, 2.2]]]]'), ROOT);
    assert.deepEqual(good.checked, [11]);
    writeFileSync(join(dir, 'good.mts'), good.source);
    assert.equal((await runModule(join(dir, 'good.mts'), dir)).code, 0);
    const bad = instrument(code('[[[[1.1, 2.3]]]]'), ROOT);
    writeFileSync(join(dir, 'bad.mts'), bad.source);
    const r = await runModule(join(dir, 'bad.mts'), dir);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /x\.md:11: .*value\[0\]\[0\]\[0\]\[1\]: got 2\.2\d*, expected 2\.3/);
  });
});

test('docs machinery: which lines become assertions', () => {
  const at = (code: string): readonly number[] => instrument({ file: 'x.md', line: 1, lang: 'ts', flags: [], code }, ROOT).checked;
  assert.deepEqual(at('f(1); // 2'), [1]);
  assert.deepEqual(at('f(1)   // 2'), [1], 'no semicolon');
  assert.deepEqual(at('g(); f(1);  // [2]'), [1], 'the last statement of a line');
  assert.deepEqual(at('f(1);\n// [2, 3]'), [1], 'the value alone on the next line');
  assert.deepEqual(at("f('a // 2')"), [], 'a // inside a string');
  assert.deepEqual(at('const y = f(1); // 2\n  f(1); // 2\nf(1,  // 2\n  3);\nf(1); // two'), []);
  const src = instrument({ file: 'x.md', line: 1, lang: 'ts', flags: [], code: 'g(); f(1);  // [2]' }, ROOT).source;
  assert.match(src.split('\n')[0], /^g\(\); __expectValue\("x\.md:1", \(f\(1\)\), \[2\], "f\(1\)"\);$/);
});

test('docs machinery: an excerpt must match its file line for line, in order', () => {
  const src = 'class A {\n  f(x) {\n    return x + 1; // one more\n  }\n}\n';
  const block = (code: string): DocBlock => ({ file: 'x.md', line: 1, lang: 'ts', flags: ['excerpt=a.ts'], code });
  assert.deepEqual(excerptMismatch(block('class A {\n  ...\n    return x + 1;   // comment\n}'), src), []);
  assert.deepEqual(excerptMismatch(block('f(x)\n{ return x\n  + 1; }'), src), [], 'a wrapped line');
  assert.deepEqual(excerptMismatch(block('return x + 2;'), src), ['return x + 2;']);
  assert.deepEqual(excerptMismatch(block('return x + 1;\nclass A {'), src), ['class A {']);
});

test('docs machinery: a type error in a block fails the type check, naming the doc line', async () => {
  const r = await typecheck([{ file: 'x.md', line: 5, lang: 'ts', flags: [], code: "const ok = 1;\nconst n: number = 'one';\n" }]);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /x\.md:6: error TS2322/);
});
