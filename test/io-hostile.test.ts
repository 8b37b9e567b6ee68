/**
 * Files that must not hurt: paths that are not regular files, files bigger than their headers say,
 * zip bombs and archives whose members share one stream, CRC mismatches, safetensors headers the
 * format's reference refuses (repeated keys, gaps, trailing bytes, deep nesting, unknown dtypes),
 * `__proto__` keys, and writes that fail half-way. For the bombs, the bounds asserted are memory
 * and a generous wall-clock ceiling, never a timing verdict.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, symlinkSync, mkdirSync, ftruncateSync, writeFileSync, writeSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Deflate, deflateSync } from 'fflate';
import { Conv1d, ConvError, Tensor, tensor } from '../src/index.js';
import { foldWeightNorm, loadSafetensorsStateDict, readNpz, readSafetensors, writeNpy, writeNpz, writeSafetensors } from '../src/io/index.js';
import { crc32 } from '../src/io/npz.js';
import { loadNpy, loadNpz, loadSafetensors, saveNpy, saveNpz, saveSafetensors } from '../src/io/node.js';
import { withTempDir } from './helpers/tmp.js';

function throwsConv(fn: () => unknown, op: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConvError, `expected ConvError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${op}: `), e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

/** Runs `f` and returns how far the resident memory rose and how long it took (bounds, not verdicts). */
function cost(f: () => void): { mb: number; s: number } {
  const rss0 = process.memoryUsage().rss, t0 = Date.now();
  f();
  return { mb: (process.memoryUsage().rss - rss0) / 2 ** 20, s: (Date.now() - t0) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// Paths

test('load*: a link to /dev/zero, a FIFO and a directory are refused at once (nothing read, nothing blocks)', () => {
  withTempDir('hostile', (dir) => {
    symlinkSync('/dev/zero', join(dir, 'zero.npy'));
    symlinkSync('/dev/zero', join(dir, 'zero.safetensors'));
    symlinkSync('/dev/zero', join(dir, 'zero.npz'));
    execFileSync('mkfifo', [join(dir, 'fifo.npy')]);
    execFileSync('mkfifo', [join(dir, 'fifo.safetensors')]);
    mkdirSync(join(dir, 'dir.npz'));
    throwsConv(() => loadNpy(join(dir, 'zero.npy')), 'npy', /path must be a regular file; got a character device at '.*zero.npy'/);
    throwsConv(() => loadSafetensors(join(dir, 'zero.safetensors')), 'safetensors', /must be a regular file; got a character device/);
    throwsConv(() => loadNpz(join(dir, 'zero.npz')), 'npz', /must be a regular file; got a character device/);
    throwsConv(() => loadNpy(join(dir, 'fifo.npy')), 'npy', /must be a regular file; got a FIFO/);
    throwsConv(() => loadSafetensors(join(dir, 'fifo.safetensors')), 'safetensors', /must be a regular file; got a FIFO/);
    throwsConv(() => loadNpz(join(dir, 'dir.npz')), 'npz', /must be a regular file; got a directory/);
  });
});

test('loadNpy/loadSafetensors read no more than the header says: a 1.5 GB file with a 2-element header is refused without reading it', () => {
  withTempDir('hostile', (dir) => {
    const big = 1.5 * 2 ** 30;
    const sparse = (name: string, head: Uint8Array) => {
      const fd = openSync(join(dir, name), 'w');
      writeSync(fd, head);
      ftruncateSync(fd, big); // a sparse file: no disk used
      closeSync(fd);
      return join(dir, name);
    };
    const npy = sparse('big.npy', writeNpy(tensor([1, 2])));
    const st = sparse('big.safetensors', writeSafetensors({ x: tensor([1, 2]) }));
    const c1 = cost(() => throwsConv(() => loadNpy(npy), 'npy', /has trailing bytes: shape \[2\] of <f4 needs 8 bytes; got \d+/));
    const c2 = cost(() => throwsConv(() => loadSafetensors(st), 'safetensors', /trailing bytes/));
    for (const c of [c1, c2]) {
      assert.ok(c.mb < 256, `memory rose by ${c.mb} MB`);
      assert.ok(c.s < 30, `took ${c.s} s`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Zip archives built by hand, so that they can lie.

interface RawMember { name: string; data: Uint8Array; method: 0 | 8; size: number; crc: number; headerAt?: number }

/** A zip archive whose central directory says what `members` say (sizes, CRCs, offsets may lie). */
function zip(members: RawMember[], streams = members): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  let at = 0;
  const offsets: number[] = [];
  for (const m of streams) {
    const name = enc.encode(m.name);
    const h = new Uint8Array(30 + name.length);
    const v = new DataView(h.buffer);
    v.setUint32(0, 0x04034b50, true); v.setUint16(4, 20, true); v.setUint16(8, m.method, true);
    v.setUint32(14, m.crc, true); v.setUint32(18, m.data.length, true); v.setUint32(22, m.size, true); v.setUint16(26, name.length, true);
    h.set(name, 30);
    offsets.push(at);
    parts.push(h, m.data);
    at += h.length + m.data.length;
  }
  const cdAt = at;
  members.forEach((m, i) => {
    const name = enc.encode(m.name);
    const c = new Uint8Array(46 + name.length);
    const v = new DataView(c.buffer);
    v.setUint32(0, 0x02014b50, true); v.setUint16(4, 20, true); v.setUint16(6, 20, true); v.setUint16(10, m.method, true);
    v.setUint32(16, m.crc, true); v.setUint32(20, m.data.length, true); v.setUint32(24, m.size, true); v.setUint16(28, name.length, true);
    v.setUint32(42, m.headerAt ?? offsets[i], true);
    c.set(name, 46);
    parts.push(c);
    at += c.length;
  });
  const e = new Uint8Array(22);
  const v = new DataView(e.buffer);
  v.setUint32(0, 0x06054b50, true); v.setUint16(8, members.length, true); v.setUint16(10, members.length, true);
  v.setUint32(12, at - cdAt, true); v.setUint32(16, cdAt, true);
  parts.push(e);
  const out = new Uint8Array(at + 22);
  let p = 0;
  for (const x of parts) { out.set(x, p); p += x.length; }
  return out;
}

const npyOf = (values: number[]) => writeNpy(tensor(values));
const member = (name: string, npy: Uint8Array, method: 0 | 8 = 8): RawMember =>
  ({ name, data: method ? deflateSync(npy) : npy, method, size: npy.length, crc: crc32(npy) });

test('npz: the hand-built archives read back when they tell the truth', () => {
  const z = readNpz(zip([member('a.npy', npyOf([1, 2, 3])), member('b.npy', npyOf([4]), 0)]));
  assert.deepEqual(Object.keys(z), ['a', 'b']);
  assert.deepEqual(z.a.toArray(), [1, 2, 3]);
  assert.deepEqual(z.b.toArray(), [4]);
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926); // the standard check value
});

test('npz: a member whose stream inflates far past its claimed size stops at the claim (bounded memory and time)', () => {
  // 256 MB of zeros deflated to ~250 KB, claimed as 128 bytes.
  const d = new Deflate({ level: 1 });
  const parts: Uint8Array[] = [];
  d.ondata = (c) => parts.push(c);
  const zeros = new Uint8Array(1 << 20);
  for (let i = 0; i < 256; i++) d.push(zeros, i === 255);
  const stream = new Uint8Array(parts.reduce((n, c) => n + c.length, 0));
  parts.reduce((at, c) => (stream.set(c, at), at + c.length), 0);
  const bomb = zip([{ name: 'a.npy', data: stream, method: 8, size: 128, crc: 0 }]);
  const c = cost(() => throwsConv(() => readNpz(bomb), 'npz', /member 'a.npy' inflates to more than the 128 bytes its directory entry claims/));
  assert.ok(c.mb < 128, `memory rose by ${c.mb} MB`);
  assert.ok(c.s < 20, `took ${c.s} s`);
});

test('npz: several directory entries pointing at one stream are refused before anything is inflated', () => {
  const big = new Uint8Array(writeNpy(new Tensor(new Float32Array(1 << 20), [1 << 20])));
  const m = member('a.npy', big);
  const entries = Array.from({ length: 50 }, (_, i) => ({ ...m, name: `m${i}.npy`, headerAt: 0 }));
  const c = cost(() => throwsConv(() => readNpz(zip(entries, [m])), 'npz', /members must not share bytes; got 'm\d+.npy' \[0, \d+\] and 'm\d+.npy' starting at 0/));
  assert.ok(c.mb < 64, `memory rose by ${c.mb} MB`);
  // Overlapping, not identical: the first member's claimed data runs over the second's local header.
  const a = member('a.npy', npyOf([1, 2, 3, 4])), b = member('b.npy', npyOf([5]), 0);
  throwsConv(() => readNpz(zip([{ ...a, data: new Uint8Array(a.data.length + 30) }, b], [a, b])), 'npz', /members must not share bytes; got 'a.npy'/);
});

test('npz: the total of all members is bounded before the first is inflated', () => {
  // Two members each claiming 600 bytes under maxBytes 1000: refused on the directory alone (the
  // first member's stream is garbage, which inflating it would have reported instead).
  const garbage = new Uint8Array(64).fill(0xff);
  const z = zip([{ name: 'a.npy', data: garbage, method: 8, size: 600, crc: 0 }, { name: 'b.npy', data: garbage, method: 8, size: 600, crc: 0 }]);
  throwsConv(() => readNpz(z, { maxBytes: 1000 }), 'npz', /holds more than the 1000 uncompressed bytes allowed \(maxBytes\)/);
});

test('npz: a CRC-32 mismatch is refused as numpy refuses it (stored and deflated members)', () => {
  const stored = writeNpz({ x: tensor([1, 2, 3]) });
  const i = stored.indexOf(0x3f); // the high byte of 1.0f, inside the member's data
  assert.ok(i > 0);
  const changed = stored.slice();
  changed[i] ^= 0x40;
  throwsConv(() => readNpz(changed), 'npz', /member 'x.npy' fails its CRC-32 check/);
  const m = member('x.npy', npyOf([1, 2, 3]));
  throwsConv(() => readNpz(zip([{ ...m, crc: m.crc ^ 1 }])), 'npz', /member 'x.npy' fails its CRC-32 check/);
  // A stream that ends short of its claim.
  throwsConv(() => readNpz(zip([{ ...m, size: m.size + 10 }])), 'npz', /inflates to \d+ bytes; its directory entry claims/);
});

test('npz: a __proto__ member is an ordinary key, both ways', () => {
  const dict = Object.create(null) as Record<string, Tensor>;
  dict['__proto__'] = tensor([7]);
  const z = readNpz(writeNpz(dict));
  assert.ok(Object.hasOwn(z, '__proto__'));
  assert.ok(!(z instanceof Tensor));
  assert.deepEqual(z['__proto__'].toArray(), [7]);
  throwsConv(() => writeNpz({ __proto__: tensor([7]) } as unknown as Record<string, Tensor>), 'npz', /tensors must be a plain object/);
});

// ---------------------------------------------------------------------------------------------
// safetensors

const stFile = (headerText: string, dataLen = 0): Uint8Array => {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length + dataLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
};
const entry = (dtype: string, shape: number[], offsets: [number, number]) => JSON.stringify({ dtype, shape, data_offsets: offsets });

test('safetensors: repeated keys, gaps and trailing bytes are refused, as the reference implementation refuses them', () => {
  throwsConv(() => readSafetensors(stFile(`{"x":${entry('F32', [1], [0, 4])},"x":${entry('F32', [1], [4, 8])}}`, 8)), 'safetensors', /header must be UTF-8 JSON \(the key 'x' repeated/);
  throwsConv(() => readSafetensors(stFile(`{"x":${entry('F32', [1], [0, 4])},"y":${entry('F32', [1], [8, 12])}}`, 12)), 'safetensors',
    /data_offsets must leave no gap between tensors; got bytes \[4, 8\] before 'y' \[8, 12\]/);
  throwsConv(() => readSafetensors(stFile(`{"x":${entry('F32', [1], [4, 8])}}`, 8)), 'safetensors', /no gap.*got bytes \[0, 4\]/);
  throwsConv(() => readSafetensors(stFile(`{"x":${entry('F32', [1], [0, 4])}}`, 12)), 'safetensors', /must end where the last tensor ends; got 8 trailing bytes/);
  // What is allowed stays allowed: empty tensors anywhere on the seam, entries in any order, spaces after the JSON.
  const ok = readSafetensors(stFile(`{"y":${entry('F32', [1], [4, 8])},"e":${entry('F32', [0], [4, 4])},"x":${entry('F32', [1], [0, 4])}}   `, 8));
  assert.deepEqual(Object.keys(ok.tensors).sort(), ['e', 'x', 'y']);
});

test('safetensors: a header nested 100 000 deep is a ConvError, not a stack overflow; unknown dtypes (even "__proto__") are named', () => {
  throwsConv(() => readSafetensors(stFile('['.repeat(100_000))), 'safetensors', /header must be UTF-8 JSON \(nesting deeper than 64 levels/);
  throwsConv(() => readSafetensors(stFile('{"a":' + '{"a":'.repeat(100_000))), 'safetensors', /nesting deeper than 64 levels/);
  for (const dtype of ['__proto__', 'constructor', 'toString'])
    throwsConv(() => readSafetensors(stFile(`{"x":${entry(dtype, [1], [0, 4])}}`, 4)), 'safetensors', new RegExp(`tensor 'x' dtype must be one of F64, .*; got '${dtype}'`));
});

test('safetensors: a __proto__ tensor name survives reading and writing; a prototype set by mistake is refused', () => {
  const read = readSafetensors(stFile(`{"__proto__":${entry('F32', [1], [0, 4])}}`, 4));
  assert.ok(!(read.tensors instanceof Tensor));
  assert.ok(Object.hasOwn(read.tensors, '__proto__'));
  assert.deepEqual(read.tensors['__proto__'].toArray(), [0]);
  const dict = Object.create(null) as Record<string, Tensor>;
  dict['__proto__'] = tensor([3, 4]);
  dict.w = tensor([5]);
  const back = readSafetensors(writeSafetensors(dict, { ['__proto__']: 'meta' } as Record<string, string>));
  assert.deepEqual(Object.keys(back.tensors).sort(), ['__proto__', 'w']);
  assert.deepEqual(back.tensors['__proto__'].toArray(), [3, 4]);
  assert.equal(back.metadata['__proto__'], 'meta');
  // `{ __proto__: t }` makes t the prototype (no key at all): refused, not an empty file.
  throwsConv(() => writeSafetensors({ __proto__: tensor([1]) } as unknown as Record<string, Tensor>), 'safetensors', /tensors must be a plain object/);
  throwsConv(() => writeSafetensors(tensor([1]) as unknown as Record<string, Tensor>), 'safetensors', /tensors must be an object of Tensors by name; got a Tensor/);
  throwsConv(() => writeSafetensors({ __metadata__: tensor([1]) }), 'safetensors', /must not have a tensor named '__metadata__'/);
  throwsConv(() => writeSafetensors({ x: tensor([1]) }, { a: 1 } as unknown as Record<string, string>), 'safetensors', /metadata must map strings to strings/);
});

// ---------------------------------------------------------------------------------------------
// Writes

test('save*: a write that fails half-way (file size limit) leaves the old file intact and no temporary file', () => {
  withTempDir('hostile', (dir) => {
    const helpers = new URL('../src/io/node.ts', import.meta.url).href;
    const cases = [['x.npy', 'saveNpy(p, big)'], ['x.npz', 'saveNpz(p, { big })'], ['x.safetensors', 'saveSafetensors(p, { big })']];
    for (const [name, call] of cases) {
      const p = join(dir, name);
      const old = new Uint8Array(4000).fill(7);
      writeFileSync(p, old);
      // ulimit -f 8: writes past 8 KiB fail with EFBIG; the new file needs 40 KB.
      const script = `import { saveNpy, saveNpz, saveSafetensors } from ${JSON.stringify(helpers)}; import { Tensor } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)};
        const big = new Tensor(new Float32Array(10000), [10000]); const p = ${JSON.stringify(p)};
        try { ${call}; console.log('wrote'); } catch (e) { console.log(e.message); }`;
      const r = spawnSync('bash', ['-c', `ulimit -f 8; exec "${process.execPath}" --import tsx --input-type=module -e '${script.replace(/'/g, "'\\''")}'`], { encoding: 'utf8' });
      assert.match(r.stdout, /cannot be written \(EFBIG\)/, r.stdout + r.stderr);
      assert.deepEqual(new Uint8Array(readFileSync(p)), old, `${name} changed`);
      assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
    }
    // And a write that succeeds replaces the file (its mode kept).
    saveNpy(join(dir, 'x.npy'), tensor([1, 2]));
    assert.deepEqual(loadNpy(join(dir, 'x.npy')).toArray(), [1, 2]);
  });
});

test('foldWeightNorm and loadSafetensorsStateDict: keys named like Object.prototype members are ordinary keys', () => {
  const dict = Object.create(null) as Record<string, Tensor>;
  dict['__proto__'] = tensor([1]);
  dict.constructor = tensor([2]);
  const folded = foldWeightNorm(dict);
  assert.deepEqual(Object.keys(folded).sort(), ['__proto__', 'constructor']);
  assert.deepEqual(folded['__proto__'].toArray(), [1]);
  // A checkpoint key mapped to 'constructor' is one unexpected key, not "two keys mapped to one".
  const model = new Conv1d(1, 1, 1, { bias: false });
  const file = writeSafetensors({ weight: tensor([[[3]]]), extra: tensor([4]) });
  const result = loadSafetensorsStateDict(model, file, { strict: false, mapKey: (k) => (k === 'extra' ? 'constructor' : k) });
  assert.deepEqual(result.unexpectedKeys, ['constructor']);
  assert.deepEqual(model.weight.toArray(), [[[3]]]);
});
