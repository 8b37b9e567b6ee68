/**
 * File formats: .npy, .npz, .safetensors against files written by numpy/PyTorch
 * (scripts/gen_io_fixtures.py), round trips, malformed and hostile files, weight-norm folding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { zipSync } from 'fflate';
import { ConvError, Tensor, randn, tensor } from '../src/index.js';
import {
  readNpy, writeNpy, readNpz, writeNpz, readSafetensors, readSafetensorsHeader, writeSafetensors, foldWeightNorm, halfToFloat, bfloatToFloat,
} from '../src/io/index.js';
import { loadNpy, saveNpy, loadNpz, saveNpz, loadSafetensors, saveSafetensors } from '../src/io/node.js';
import { withTempDir } from './helpers/tmp.js';

const DATA = new URL('./data/', import.meta.url).pathname;
const bytes = (p: string): Uint8Array => new Uint8Array(readFileSync(join(DATA, p)));
// Non-finite values are written as strings ('Infinity', '-Infinity', 'NaN'): JSON has no literal for them.
const expected: Record<string, { shape: number[]; values: number[] }> = JSON.parse(readFileSync(join(DATA, 'expected.json'), 'utf8'),
  (_k, v) => (typeof v === 'string' && /^-?Infinity$|^NaN$/.test(v) ? Number(v) : v));

function assertMatches(t: Tensor, key: string, dtype: 'float32' | 'float64' = 'float32'): void {
  const e = expected[key];
  assert.ok(e, `fixture ${key} missing`);
  assert.deepEqual([...t.shape], e.shape, key);
  assert.equal(t.dtype, dtype, key);
  assert.equal(t.size, e.values.length, key);
  e.values.forEach((v, i) => assert.ok(Object.is(t.data[i], v) || (Number.isNaN(v) && Number.isNaN(t.data[i])), `${key}[${i}]: ${t.data[i]} vs ${v}`));
}

function throwsConv(fn: () => unknown, op: string, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConvError, `expected ConvError, got ${String(e)}`);
    assert.ok(e.message.startsWith(`${op}: `), e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
test('npy: every numpy fixture reads back with numpy\'s values', () => {
  const float64 = new Set(['f64', 'f64_be']);
  for (const name of ['f32', 'f64', 'f32_be', 'f64_be', 'fortran', 'int32', 'int64', 'uint8', 'bool', 'f16', 'scalar', 'empty'])
    assertMatches(readNpy(bytes(`npy/${name}.npy`)), `npy/${name}`, float64.has(name) ? 'float64' : 'float32');
  // dtype on request; an ArrayBuffer works as well as a Uint8Array.
  const b = bytes('npy/f32.npy');
  const t = readNpy(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength), { dtype: 'float64' });
  assertMatches(t, 'npy/f32', 'float64');
});

test('npy: int64 beyond float32 is an error unless float64 is asked for', () => {
  throwsConv(() => readNpy(bytes('npy/int64_big.npy')), 'npy', /1099511627777 at element 0.*float32 cannot represent exactly.*'float64'/);
  assertMatches(readNpy(bytes('npy/int64_big.npy'), { dtype: 'float64' }), 'npy/int64_big', 'float64');
});

test('npy: writeNpy reproduces numpy.save byte for byte and round-trips any shape', () => {
  for (const name of ['f32', 'f64', 'scalar', 'empty']) {
    const b = bytes(`npy/${name}.npy`);
    assert.deepEqual(writeNpy(readNpy(b)), b, name);
  }
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }), fc.boolean(), fc.integer(),
    (shape, f64, seed) => {
      const t = randn(shape, { dtype: f64 ? 'float64' : 'float32', seed });
      const back = readNpy(writeNpy(t));
      assert.deepEqual(back.shape, t.shape);
      assert.equal(back.dtype, t.dtype);
      assert.deepEqual(back.data, t.data);
    }), { seed: 1, numRuns: 60 });
});

test('npy: malformed files give a clear ConvError', () => {
  const good = bytes('npy/f32.npy');
  // Every truncation.
  for (let n = 0; n < good.length; n++) throwsConv(() => readNpy(good.subarray(0, n)), 'npy');
  throwsConv(() => readNpy(good.subarray(0, 200)), 'npy', /data is truncated: shape \[2, 3, 4\] of <f4 needs 96 bytes; got 72/);
  throwsConv(() => readNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])), 'npy', /magic/);
  const withHeader = (header: string, data = new Uint8Array(0), version = 1) => {
    const h = new TextEncoder().encode(header);
    const pre = version === 1 ? 10 : 12;
    const out = new Uint8Array(pre + h.length + data.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
    if (version === 1) new DataView(out.buffer).setUint16(8, h.length, true);
    else new DataView(out.buffer).setUint32(8, h.length, true);
    out.set(h, pre);
    out.set(data, pre + h.length);
    return out;
  };
  // The header itself, valid, as a baseline.
  assert.deepEqual(readNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", new Uint8Array(8))).toArray(), [0, 0]);
  // Wrong header length: longer than the file, and too short to hold the dict.
  const long = good.slice();
  new DataView(long.buffer).setUint16(8, 60000, true);
  throwsConv(() => readNpy(long), 'npy', /header length 60000 runs past the end of the file/);
  const short = good.slice();
  new DataView(short.buffer).setUint16(8, 20, true);
  throwsConv(() => readNpy(short), 'npy', /header is not a valid Python literal/);
  throwsConv(() => readNpy(withHeader('{', new Uint8Array(0), 2).subarray(0, 11)), 'npy', /truncated inside the header length/);
  const v2huge = withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(8), 2);
  new DataView(v2huge.buffer).setUint32(8, 0xffffffff, true);
  throwsConv(() => readNpy(v2huge), 'npy', /header length must be at most 1048576 bytes; got 4294967295/);
  throwsConv(() => readNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(8), 7)), 'npy', /version must be 1.0, 2.0 or 3.0; got 7.0/);
  // Header claiming more data than the file holds, and hostile huge shapes (nothing allocated).
  throwsConv(() => readNpy(withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000,), }", new Uint8Array(16))), 'npy',
    /data is truncated: shape \[100000000\] of <f8 needs 800000000 bytes; got 16/);
  throwsConv(() => readNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }")), 'npy', /elements, more than the 2147483647/);
  throwsConv(() => readNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536), }")), 'npy', /4294967296 elements/);
  throwsConv(() => readNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }")), 'npy', /non-negative integers/);
  throwsConv(() => readNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (8,), }", new Uint8Array(40))), 'npy', /trailing bytes/);
  // Unknown or unsupported dtypes.
  for (const d of ['<c8', '|O', '<U3', '<f3', '|V8', '<M8'])
    throwsConv(() => readNpy(withHeader(`{'descr': '${d}', 'fortran_order': False, 'shape': (1,), }`, new Uint8Array(8))), 'npy', /dtype must be a float/);
  throwsConv(() => readNpy(withHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4))), 'npy', /dtype must be a float/);
  // Bad dicts.
  throwsConv(() => readNpy(withHeader("{'descr': '<f4', 'shape': (1,), }", new Uint8Array(4))), 'npy', /exactly the keys/);
  throwsConv(() => readNpy(withHeader("{'descr': '<f4', 'fortran_order': 1, 'shape': (1,), }", new Uint8Array(4))), 'npy', /fortran_order must be True or False/);
  throwsConv(() => readNpy(withHeader('['.repeat(5000), new Uint8Array(0))), 'npy', /nesting too deep/);
  throwsConv(() => readNpy('not bytes' as unknown as Uint8Array), 'npy', /must be a Uint8Array or ArrayBuffer/);
});

test('npy: random corruption of valid files never escapes as anything but a ConvError', () => {
  const files = ['f32', 'fortran', 'int64', 'scalar'].map((n) => bytes(`npy/${n}.npy`));
  fc.assert(fc.property(
    fc.integer({ min: 0, max: files.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
    (fi, edits) => {
      const b = files[fi].slice();
      for (const [at, v] of edits) b[at % 128] = v; // the header region
      try {
        readNpy(b);
      } catch (e) {
        assert.ok(e instanceof ConvError, String(e));
      }
    }), { seed: 7, numRuns: 400 });
});

// ---------------------------------------------------------------------------------------------
test('npz: numpy.savez and savez_compressed archives read back; writeNpz round-trips', () => {
  for (const f of ['stored', 'compressed']) {
    const z = readNpz(bytes(`npz/${f}.npz`));
    assert.deepEqual(Object.keys(z).sort(), ['a', 'b']);
    assertMatches(z.a, 'npz/a', 'float32');
    assertMatches(z.b, 'npz/b', 'float64');
  }
  const src = { x: randn([3, 4], { seed: 3 }), y: tensor(new Float64Array([1.5, -2, 1e300]), [3]), s: tensor(new Float32Array([7]), []) };
  for (const compress of [false, true]) {
    const z = readNpz(writeNpz(src, { compress }));
    for (const k of Object.keys(src) as (keyof typeof src)[]) {
      assert.deepEqual(z[k].shape, src[k].shape);
      assert.deepEqual(z[k].data, src[k].data);
    }
  }
  // Compression works: a constant array deflates to much less than it holds.
  const ones = tensor(new Float32Array(4096).fill(1), [4096]);
  assert.ok(writeNpz({ ones }, { compress: true }).length < writeNpz({ ones }).length / 10);
});

test('npz: malformed and hostile archives give a clear ConvError', () => {
  const good = bytes('npz/compressed.npz');
  for (let n = 0; n < good.length; n += 7) throwsConv(() => readNpz(good.subarray(0, n)), 'npz');
  throwsConv(() => readNpz(new Uint8Array(100)), 'npz', /not a readable zip file/);
  // A member whose uncompressed size claims 4 GB (central directory field patched): refused before inflating.
  const bomb = good.slice();
  const view = new DataView(bomb.buffer);
  for (let i = bomb.length - 22; i > 0; i--) {
    if (view.getUint32(i, true) === 0x02014b50) { view.setUint32(i + 24, 0xfffffff0, true); break; }
  }
  throwsConv(() => readNpz(bomb), 'npz', /claims 4294967280 bytes/);
  // A budget: maxBytes bounds what is inflated.
  throwsConv(() => readNpz(good, { maxBytes: 100 }), 'npz', /more than the 100 uncompressed bytes/);
  // A member that is not an .npy file.
  throwsConv(() => readNpz(zipSync({ 'a.npy': new TextEncoder().encode('hello') })), 'npz', /member 'a.npy' is not a valid .npy file: npy: file must start with the magic/);
});

// ---------------------------------------------------------------------------------------------
test('safetensors: F32, F64, F16, BF16 (and I32) read with PyTorch\'s values; metadata kept', () => {
  const { tensors, metadata } = readSafetensors(bytes('safetensors/mixed.safetensors'));
  assert.deepEqual({ ...metadata }, { format: 'pt' });
  assert.deepEqual(Object.keys(tensors).sort(), ['bf16', 'f16', 'f32', 'f64', 'i32', 'scalar']);
  assertMatches(tensors.f32, 'safetensors/f32');
  assertMatches(tensors.f64, 'safetensors/f64', 'float64');
  assertMatches(tensors.f16, 'safetensors/f16');
  assertMatches(tensors.bf16, 'safetensors/bf16');
  assertMatches(tensors.i32, 'safetensors/i32');
  assertMatches(tensors.scalar, 'safetensors/scalar');
  // The half-precision decoders on their special values.
  assert.deepEqual([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x8000].map(halfToFloat), [1, -2, 65504, 2 ** -24, Infinity, -Infinity, -0]);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  assert.deepEqual([0x3f80, 0xc040, 0x7f80].map(bfloatToFloat), [1, -3, Infinity]);
});

test('safetensors: writeSafetensors round-trips and aligns the data', () => {
  const src = { 'a.weight': randn([2, 3, 4], { seed: 5 }), 'a.bias': randn([2], { dtype: 'float64', seed: 6 }), s: tensor(new Float32Array([2]), []) };
  const b = writeSafetensors(src, { note: 'x' });
  const n = Number(new DataView(b.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const { tensors, metadata } = readSafetensors(b);
  assert.deepEqual({ ...metadata }, { note: 'x' });
  for (const k of Object.keys(src) as (keyof typeof src)[]) {
    assert.equal(tensors[k].dtype, src[k].dtype);
    assert.deepEqual(tensors[k].shape, src[k].shape);
    assert.deepEqual(tensors[k].data, src[k].data);
  }
});

test('safetensors: malformed and hostile headers give a clear ConvError', () => {
  const good = bytes('safetensors/mixed.safetensors');
  for (let n = 0; n < good.length; n += 3) throwsConv(() => readSafetensors(good.subarray(0, n)), 'safetensors');
  const file = (header: unknown, dataLen = 0, lenOverride?: bigint) => {
    const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
    const out = new Uint8Array(8 + h.length + dataLen);
    new DataView(out.buffer).setBigUint64(0, lenOverride ?? BigInt(h.length), true);
    out.set(h, 8);
    return out;
  };
  const ok = { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  assert.deepEqual(readSafetensors(file(ok, 8)).tensors.x.toArray(), [0, 0]);
  throwsConv(() => readSafetensors(new Uint8Array(5)), 'safetensors', /needs at least the 8-byte header length; got 5/);
  throwsConv(() => readSafetensors(file(ok, 8, 2n ** 63n)), 'safetensors', /header length must fit in the file.*got 9223372036854775808/);
  throwsConv(() => readSafetensors(file(ok, 8, 1000n)), 'safetensors', /header length must fit in the file/);
  throwsConv(() => readSafetensors(file(ok, 8, 10n)), 'safetensors', /header must be UTF-8 JSON/);
  throwsConv(() => readSafetensors(file('[1, 2]')), 'safetensors', /header must be a JSON object/);
  throwsConv(() => readSafetensors(file({ x: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, 2)), 'safetensors', /tensor 'x' dtype must be one of F64, F32, F16, BF16.*got 'F8_E4M3'/);
  throwsConv(() => readSafetensors(file({ x: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, 8)), 'safetensors', /dtype must be one of/);
  // Data claimed beyond the file, sizes that do not match numel · itemsize, overlaps.
  throwsConv(() => readSafetensors(file({ x: { dtype: 'F32', shape: [1000], data_offsets: [0, 4000] } }, 8)), 'safetensors', /begin ≤ end ≤ 8.*got \[0, 4000\]/);
  throwsConv(() => readSafetensors(file({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8)), 'safetensors', /must span numel × itemsize = 3 × 4 = 12 bytes/);
  throwsConv(() => readSafetensors(file({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12)),
    'safetensors', /must not overlap; got 'x' \[0, 8\] and 'y' \[4, 12\]/);
  throwsConv(() => readSafetensors(file({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] }, y: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 16)),
    'safetensors', /must not overlap; got 'x' \[0, 16\] and 'e' \[4, 4\]/);
  throwsConv(() => readSafetensors(file({ x: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, 8)), 'safetensors', /begin ≤ end/);
  throwsConv(() => readSafetensors(file({ x: { dtype: 'F32', shape: [2], data_offsets: [0.5, 8] } }, 8)), 'safetensors', /two non-negative integers/);
  // Hostile shapes: nothing is allocated.
  throwsConv(() => readSafetensors(file({ x: { dtype: 'F64', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] } }, 8)), 'safetensors', /more than the 2147483647/);
  throwsConv(() => readSafetensors(file({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 8] } }, 8)), 'safetensors', /non-negative integers/);
  throwsConv(() => readSafetensors(file({ x: { dtype: 'F32', shape: 'big', data_offsets: [0, 8] } }, 8)), 'safetensors', /shape of tensor 'x' must be a list/);
  throwsConv(() => readSafetensors(file({ __metadata__: { a: 1 } })), 'safetensors', /__metadata__ must map strings to strings/);
  throwsConv(() => readSafetensors(file({ x: 3 })), 'safetensors', /tensor 'x' must be an object/);
  // The header alone can be read without touching the data.
  assert.deepEqual(readSafetensorsHeader(good).entries.map((e) => e.name).sort(), ['bf16', 'f16', 'f32', 'f64', 'i32', 'scalar']);
});

test('safetensors and npz: random corruption never escapes as anything but a ConvError', () => {
  const files = [bytes('safetensors/mixed.safetensors'), bytes('npz/stored.npz'), bytes('npz/compressed.npz')];
  fc.assert(fc.property(
    fc.integer({ min: 0, max: files.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
    fc.boolean(),
    (fi, edits, nearEnd) => {
      const b = files[fi].slice();
      // Headers: the start of a safetensors file; the start or the central directory (end) of a zip.
      for (const [at, v] of edits) b[nearEnd && fi > 0 ? b.length - 1 - (at % 120) : at % 300] = v;
      try {
        if (fi === 0) readSafetensors(b);
        else readNpz(b);
      } catch (e) {
        assert.ok(e instanceof ConvError, String(e));
      }
    }), { seed: 11, numRuns: 400 });
});

// ---------------------------------------------------------------------------------------------
test('node helpers: load and save by path; a missing path is a ConvError', () => {
  withTempDir('io', (dir) => {
    const t = randn([2, 5], { seed: 9 });
    saveNpy(join(dir, 't.npy'), t);
    assert.deepEqual(loadNpy(join(dir, 't.npy')).data, t.data);
    saveNpz(join(dir, 't.npz'), { t }, { compress: true });
    assert.deepEqual(loadNpz(join(dir, 't.npz')).t.data, t.data);
    saveSafetensors(join(dir, 't.safetensors'), { t });
    assert.deepEqual(loadSafetensors(join(dir, 't.safetensors')).tensors.t.data, t.data);
    assertMatches(loadNpy(join(DATA, 'npy/fortran.npy')), 'npy/fortran');
    throwsConv(() => loadNpy(join(dir, 'missing.npy')), 'npy', /path cannot be read \(ENOENT\)/);
    throwsConv(() => saveNpy(join(dir, 'no/such/dir.npy'), t), 'npy', /path cannot be written/);
  });
});

// ---------------------------------------------------------------------------------------------
test('foldWeightNorm: both key spellings fold to PyTorch\'s weights', () => {
  const sd = readSafetensors(bytes('hifigan/generator.safetensors')).tensors;
  const torchWeights = readNpz(bytes('hifigan/folded.npz'));
  const folded = foldWeightNorm(sd);
  assert.ok(!Object.keys(folded).some((k) => /weight_[gv]$|original[01]$/.test(k)));
  assert.equal(folded['conv_pre.bias'], sd['conv_pre.bias']);
  for (const [k, w] of Object.entries(torchWeights)) {
    const got = folded[k];
    assert.deepEqual(got.shape, w.shape, k);
    for (let i = 0; i < w.size; i++) assert.ok(Math.abs(got.data[i] - w.data[i]) <= 1e-6 * Math.max(1, Math.abs(w.data[i])), `${k}[${i}]`);
  }
  throwsConv(() => foldWeightNorm({ 'c.weight_g': sd['conv_pre.weight_g'] }), 'foldWeightNorm', /c.weight needs both/);
  throwsConv(() => foldWeightNorm({ 'c.weight_g': sd['conv_post.weight_g'], 'c.weight_v': sd['conv_pre.weight_v'] }), 'foldWeightNorm', /weight_g must have shape \[8, 1, …\]/);
});
