/**
 * The `convkit` binary and files: `--out FILE.npz:KEY` / `FILE.safetensors:KEY` update one member
 * and keep the others byte for byte, writes are atomic (a write that fails half-way leaves the
 * input intact), inputs that are not regular files are refused at once, `--print` is valid JSON
 * for NaN and ±Infinity, integer flags are spelled in decimal, and `--version`.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conv1d, tensor, Tensor } from '../src/index.js';
import { readNpz, readSafetensors, writeNpy, writeSafetensors } from '../src/io/index.js';
import { readNpzMembers, writeNpzMembers } from '../src/io/npz.js';
import { encodeSafetensors, readSafetensorsRaw } from '../src/io/safetensors.js';
import { ensureBuilt, ROOT } from './helpers/build.js';
import { BIN, fails, ok } from './helpers/cli.js';
import { withTempDir } from './helpers/tmp.js';

before(() => ensureBuilt(BIN));

/** An int16 .npy file written by hand (convkit itself writes only floats): it must survive untouched. */
function int16Npy(values: number[]): Uint8Array {
  let header = `{'descr': '<i2', 'fortran_order': False, 'shape': (${values.length},), }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + 2 * values.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  values.forEach((v, i) => new DataView(out.buffer).setInt16(total + 2 * i, v, true));
  return out;
}

const x = tensor([[[1, 2, 3, 4, 5]]]), w = tensor([[[1, -1]]]);
const want = Array.from(conv1d(x, w).data);

test('--out FILE.npz:KEY updates that member of an existing archive and keeps the others byte for byte', () => {
  withTempDir('cli', (dir) => {
    const p = join(dir, 'data.npz');
    const members = new Map([['x.npy', writeNpy(x)], ['w.npy', writeNpy(w)], ['counts.npy', int16Npy([1, -2, 300])], ['y.npy', writeNpy(tensor([9]))]]);
    writeFileSync(p, writeNpzMembers(members, { compress: true }));
    ok('run', 'conv1d', '--input', `${p}:x`, '--weight', `${p}:w`, '--out', `${p}:y`);
    const after = readNpzMembers(new Uint8Array(readFileSync(p)));
    assert.deepEqual([...after.keys()].sort(), ['counts.npy', 'w.npy', 'x.npy', 'y.npy']);
    for (const k of ['x.npy', 'w.npy', 'counts.npy']) assert.deepEqual(after.get(k), members.get(k), k);
    assert.deepEqual(Array.from(readNpz(new Uint8Array(readFileSync(p))).y.data), want);
    // A new key is added; a new file holds only the output.
    ok('run', 'conv1d', '--input', `${p}:x`, '--weight', `${p}:w`, '--out', `${p}:z`);
    assert.deepEqual(Object.keys(readNpz(new Uint8Array(readFileSync(p)))).sort(), ['counts', 'w', 'x', 'y', 'z']);
    ok('run', 'conv1d', '--input', `${p}:x`, '--weight', `${p}:w`, '--out', join(dir, 'new.npz:out'));
    assert.deepEqual(Object.keys(readNpz(new Uint8Array(readFileSync(join(dir, 'new.npz'))))), ['out']);
    // An existing file that is not an archive is not overwritten.
    writeFileSync(join(dir, 'notes.npz'), 'my notes');
    fails(/^convkit: --out names an existing file that cannot be updated \(npz: archive is not a readable zip file/, 'run', 'conv1d', '--input', `${p}:x`, '--weight', `${p}:w`, '--out', join(dir, 'notes.npz:y'));
    assert.equal(readFileSync(join(dir, 'notes.npz'), 'utf8'), 'my notes');
  });
});

test('--out FILE.safetensors:KEY keeps the other tensors (any dtype) and the metadata', () => {
  withTempDir('cli', (dir) => {
    const p = join(dir, 'model.safetensors');
    const half = new Uint8Array([0x00, 0x3c, 0x00, 0xc0]); // F16 [1, -2]
    const base = readSafetensorsRaw(writeSafetensors({ x, w }));
    writeFileSync(p, encodeSafetensors([...base.entries, { name: 'h', dtype: 'F16', shape: [2], bytes: half }], { format: 'pt' }));
    ok('run', 'conv1d', '--input', `${p}:x`, '--weight', `${p}:w`, '--out', `${p}:y`);
    const after = readSafetensorsRaw(new Uint8Array(readFileSync(p)));
    assert.deepEqual({ ...after.metadata }, { format: 'pt' });
    assert.deepEqual(after.entries.map((e) => e.name).sort(), ['h', 'w', 'x', 'y']);
    const h = after.entries.find((e) => e.name === 'h')!;
    assert.equal(h.dtype, 'F16');
    assert.deepEqual(new Uint8Array(h.bytes), half);
    const t = readSafetensors(new Uint8Array(readFileSync(p))).tensors;
    assert.deepEqual(Array.from(t.y.data), want);
    assert.deepEqual(Array.from(t.x.data), Array.from(x.data));
  });
});

test('writes are atomic: a write that fails half-way with --out = --input leaves the input intact and no temporary file', () => {
  withTempDir('cli', (dir) => {
    for (const name of ['data.npz', 'data.safetensors']) {
      const p = join(dir, name);
      const big = new Tensor(new Float32Array(8000).fill(0.5), [1, 1, 8000]);
      const input = name.endsWith('.npz') ? writeNpzMembers(new Map([['x.npy', writeNpy(big)], ['w.npy', writeNpy(w)]])) : writeSafetensors({ x: big, w });
      writeFileSync(p, input);
      // ulimit -f 16: any write past 16 KiB fails (EFBIG); the updated file needs ~32 KB.
      const r = spawnSync('bash', ['-c', `ulimit -f 16; exec "${process.execPath}" "${BIN}" run conv1d --input "${p}:x" --weight "${p}:w" --out "${p}:x"`], { encoding: 'utf8' });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /^convkit: --out cannot be written \(EFBIG\)/);
      assert.deepEqual(new Uint8Array(readFileSync(p)), input, `${name} changed`);
      assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
    }
  });
});

test('inputs that are not regular files are refused at once (a FIFO does not block, /dev/zero is not read)', () => {
  withTempDir('cli', (dir) => {
    execFileSync('mkfifo', [join(dir, 'x.npy')]);
    symlinkSync('/dev/zero', join(dir, 'w.npy'));
    symlinkSync('/dev/zero', join(dir, 'm.safetensors'));
    writeFileSync(join(dir, 'ok.npy'), writeNpy(w));
    fails(/^convkit: npy: path must be a regular file; got a FIFO/, 'run', 'conv1d', '--input', join(dir, 'x.npy'), '--weight', join(dir, 'ok.npy'));
    fails(/^convkit: npy: path must be a regular file; got a character device/, 'run', 'conv1d', '--input', join(dir, 'ok.npy'), '--weight', join(dir, 'w.npy'));
    fails(/^convkit: safetensors: path must be a regular file; got a character device/, 'run', 'conv1d', '--input', join(dir, 'm.safetensors:x'), '--weight', join(dir, 'ok.npy'));
  });
});

test('--print and --print --json show NaN and ±Infinity as null: the output is valid JSON', () => {
  withTempDir('cli', (dir) => {
    writeFileSync(join(dir, 'x.npy'), writeNpy(tensor([[[1, Infinity, -Infinity, NaN]]])));
    writeFileSync(join(dir, 'w.npy'), writeNpy(tensor([[[1]]])));
    const lines = ok('run', 'conv1d', '--input', join(dir, 'x.npy'), '--weight', join(dir, 'w.npy'), '--print').trimEnd().split('\n');
    assert.deepEqual(JSON.parse(lines[1]), [[[1, null, null, null]]]);
    const json = JSON.parse(ok('run', 'conv1d', '--input', join(dir, 'x.npy'), '--weight', join(dir, 'w.npy'), '--print', '--json'));
    assert.deepEqual(json.values, [1, null, null, null]);
  });
});

test('integer flags must be decimal integers (1e300, 0x10, 2.5, 1_0, empty parts refused) and value flags finite decimal numbers, with one line naming the flag', () => {
  const shape = ['shape', 'conv1d', '--input', '1,1,10', '--weight', '1,1,3'];
  for (const bad of ['1e300', '0x10', '2.5', '1_0', '', '1,,2', '-1', '99999999999999999999'])
    fails(new RegExp(`^convkit: --stride must be decimal integers from 0 to 2\\^53 − 1 separated by commas.*; got '${bad.replace(/[.*+?^$()[\]\\]/g, '\\$&')}'$`), ...shape, '--stride', bad);
  fails(/^convkit: --input must be decimal integers/, 'shape', 'conv1d', '--input', '1,1,1e3', '--weight', '1,1,3');
  fails(/^convkit: --weight must be decimal integers/, 'shape', 'conv1d', '--input', '1,1,10', '--weight', '0x1,1,3');
  fails(/^convkit: --groups must be decimal integers/, ...shape, '--groups', '1e0');
  fails(/^convkit: --dilation must be decimal integers/, ...shape, '--dilation', 'Infinity');
  fails(/^convkit: --kernel-size must be decimal integers/, 'shape', 'conv1d', '--input', '1,1,10', '--out-channels', '2', '--kernel-size', '3.0');
  fails(/^convkit: --output-size must be decimal integers/, 'shape', 'convTranspose1d', '--input', '1,1,10', '--weight', '1,1,3', '--output-size', '0x0c');
  fails(/^convkit: --padding must be a name \('same', 'valid'\) or decimal integers/, ...shape, '--padding', '[[1e300, 0]]');
  fails(/^convkit: --padding must be a name/, ...shape, '--padding', '0x10');
  fails(/^convkit: --child-timeout must be decimal integers/, 'bench', '--child-timeout', '1e3');
  // Value flags: finite decimal numbers.
  for (const bad of ['0x10', 'Infinity', 'NaN', '1_0', '1e999', ''])
    fails(/^convkit: --x must be finite decimal numbers separated by commas/, 'explain', 'conv1d', '--input', '1,1,3', '--kernel-size', '1', '--x', `1,${bad},2`);
  assert.match(ok('explain', 'conv1d', '--input', '1,1,3', '--kernel-size', '1', '--x', '1.5,-2e1,.25', '--w', '2', '--json'), /"checked": true/);
  // What is right still works.
  assert.match(ok(...shape, '--stride', '2', '--padding', '[[1, 0]]'), /output \[1, 1, 5\]/);
  assert.match(ok(...shape, '--padding', 'same'), /output \[1, 1, 10\]/);
});

test('--version and -V print the package version', () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(ok('--version'), `${version}\n`);
  assert.equal(ok('-V'), `${version}\n`);
});
