/**
 * The exported helpers (shape formulas, half-precision decoders, formatProfile, writeNpy) on hostile
 * input: each bad value is a ConvError naming the parameter, the rule and the value — never NaN, a
 * silently wrong number, an ignored argument or a raw TypeError/RangeError — while valid calls keep
 * their documented results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertConvError, throwingGetter } from './helpers-core.js';
import fc from 'fast-check';
import {
  bfloatToFloat, Conv1d, ConvError, convOutSize, convTransposeOutSize, formatProfile, halfToFloat, ones, outputSizeRange, paddleSamePads,
  profile, readNpy, readNpz, Sequential, span, tensor, torchSamePads, writeNpy, writeNpz, type Pair, type Profile,
} from '../src/index.js';
import { fmt } from '../src/spec/errors.js';

const trap = (): never => { throw new TypeError('trap'); };
/** An object every read of which throws (get, has, keys, prototype). */
const throwingObject = () => new Proxy({}, { get: trap, has: trap, ownKeys: trap, getPrototypeOf: trap, getOwnPropertyDescriptor: trap });
/** An array every element or length read of which throws (Array.isArray still answers true). */
const throwingArray = () => new Proxy([0, 1], { get: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap });
const cyclic = () => { const a: unknown[] = [1]; a.push(a); return a; };

test('shape helpers: NaN, negative, fractional, string and BigInt sizes are ConvErrors naming the parameter and the value', () => {
  const bad: [unknown, RegExp][] = [[NaN, /got NaN$/], [-1, /got -1$/], [1.5, /got 1\.5$/], ['3', /got '3'$/], [10n, /got 10n$/], [Infinity, /got Infinity$/], [null, /got null$/]];
  for (const [v, got] of bad) {
    const x = v as number;
    assertConvError(() => span(x, 1), 'span', 'kernelSize', /must be a positive integer/);
    assertConvError(() => span(3, x), 'span', 'dilation', got);
    assertConvError(() => convOutSize(x, 3, 1, 1, [0, 0]), 'convOutSize', 'inSize', /must be a non-negative integer/);
    assertConvError(() => convOutSize(5, x, 1, 1, [0, 0]), 'convOutSize', 'kernelSize', got);
    assertConvError(() => convOutSize(5, 3, x, 1, [0, 0]), 'convOutSize', 'stride', got);
    assertConvError(() => convOutSize(5, 3, 1, x, [0, 0]), 'convOutSize', 'dilation', got);
    assertConvError(() => convTransposeOutSize(5, 3, 2, 1, [0, 0], x), 'convTransposeOutSize', 'outputPadding', /must be a non-negative integer/);
    assertConvError(() => convTransposeOutSize(x, 3, 2, 1, [0, 0], 0), 'convTransposeOutSize', 'inSize', got);
    assertConvError(() => outputSizeRange(5, 3, x, 1, [0, 0]), 'outputSizeRange', 'stride', got);
    assertConvError(() => torchSamePads(x, 1), 'torchSamePads', 'kernelSize', got);
    assertConvError(() => torchSamePads(3, x), 'torchSamePads', 'dilation', got);
    assertConvError(() => paddleSamePads(x, 3, 1), 'paddleSamePads', 'inSize', got);
    assertConvError(() => paddleSamePads(5, 3, x), 'paddleSamePads', 'stride', got);
  }
  // Zero is a size (the formula then says the kernel does not fit) but not a kernel, stride or dilation.
  assert.equal(convOutSize(0, 1, 1, 1, [0, 0]), 0);
  assertConvError(() => convOutSize(5, 3, 0, 1, [0, 0]), 'convOutSize', 'stride', /must be a positive integer; got 0$/);
  assertConvError(() => paddleSamePads(5, 0, 1), 'paddleSamePads', 'kernelSize', /must be a positive integer; got 0$/);
  assertConvError(() => span(0, 1), 'span', 'kernelSize', /got 0$/);
});

test('shape helpers: a padding that is not a [before, after] pair of non-negative integers is a ConvError', () => {
  const rule = /must be a \[before, after\] pair of non-negative integers; got /;
  const bad: unknown[] = [[1], [1, 2, 3], [], [-1, 0], [0, 0.5], [NaN, 0], ['1', '1'], [,], [, ,], [0, undefined], 1, '11', null, { 0: 1, 1: 1, length: 2 }, new Int32Array(2), cyclic()];
  for (const p of bad) {
    const pad = p as Pair;
    assertConvError(() => convOutSize(5, 3, 1, 1, pad), 'convOutSize', 'padding', rule);
    assertConvError(() => convTransposeOutSize(5, 3, 2, 1, pad, 0), 'convTransposeOutSize', 'padding', rule);
    assertConvError(() => outputSizeRange(5, 3, 2, 1, pad), 'outputSizeRange', 'padding', rule);
  }
  assertConvError(() => convOutSize(5, 3, 1, 1, [1] as never), 'convOutSize', 'padding', /got \[1\]$/);
  assertConvError(() => convOutSize(5, 3, 1, 1, throwingArray() as never), 'convOutSize', 'padding', /could not be read \(trap\)/);
  // A pair is read once: a getter that changes its answer cannot make the check and the formula disagree.
  let reads = 0;
  const shifty = [0, 0];
  Object.defineProperty(shifty, 0, { get: () => (reads++ ? -100 : 1), enumerable: true });
  assert.equal(convOutSize(5, 3, 1, 1, shifty as never), 4);
  assert.equal(reads, 1);
});

test('shape helpers: arguments whose sums pass 2^53 − 1 are refused; results up to it stay exact', () => {
  const rule = /must together keep the formula's sums within 2\^53 − 1/;
  assertConvError(() => convOutSize(2 ** 53 - 1, 1, 1, 1, [1, 0]), 'convOutSize', '(inSize, kernelSize, stride, dilation, padding)', rule);
  assertConvError(() => span(2 ** 52, 4), 'span', '(kernelSize, dilation)', rule);
  assertConvError(() => torchSamePads(2 ** 52, 4), 'torchSamePads', '(kernelSize, dilation)', rule);
  assertConvError(() => convTransposeOutSize(2 ** 40, 1, 2 ** 20, 1, [0, 0], 0), 'convTransposeOutSize', '(inSize, kernelSize, stride, dilation, padding, outputPadding)', rule);
  assertConvError(() => outputSizeRange(2 ** 40, 1, 2 ** 20, 1, [0, 0]), 'outputSizeRange', '(inSize, kernelSize, stride, dilation, padding, outputPadding)', rule);
  assertConvError(() => outputSizeRange(2, 1, 2 ** 52, 1, [0, 0]), 'outputSizeRange', '(inSize, kernelSize, stride, dilation, padding, outputPadding)', rule);
  assertConvError(() => paddleSamePads(2 ** 53 - 1, 2, 1), 'paddleSamePads', '(inSize, kernelSize, stride)', rule);
  // Just inside the bound, the results are the exact integers.
  assert.equal(convOutSize(2 ** 53 - 3, 1, 1, 1, [1, 1]), 2 ** 53 - 1);
  assert.equal(span(2 ** 52, 2), 2 ** 53 - 1);
  assert.equal(convTransposeOutSize(2 ** 26 + 1, 1, 2 ** 26, 1, [0, 0], 0), 2 ** 52 + 1);
  assert.deepEqual(outputSizeRange(2, 1, 2 ** 51, 1, [0, 0]), { min: 2 ** 51 + 1, max: 2 ** 52 });
});

test('halfToFloat / bfloatToFloat: anything but an integer in [0, 65535] is a ConvError; the bits decode as before', () => {
  for (const [f, op] of [[halfToFloat, 'halfToFloat'], [bfloatToFloat, 'bfloatToFloat']] as const) {
    for (const v of [NaN, -1, 65536, 0x1ffff, 1.5, '1', 10n, null, undefined, Infinity])
      assertConvError(() => f(v as number), op, 'bits', /must be an integer in \[0, 65535\] \(the 16 bits of the value\); got /);
    assertConvError(() => f(65536), op, 'bits', /got 65536$/);
  }
  assert.deepEqual([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x8000].map(halfToFloat), [1, -2, 65504, 2 ** -24, Infinity, -Infinity, -0]);
  assert.ok(Number.isNaN(halfToFloat(0xffff)));
  assert.deepEqual([0x3f80, 0xc040, 0x7f80, 0].map(bfloatToFloat), [1, -3, Infinity, 0]);
  assert.ok(Number.isNaN(bfloatToFloat(0xffff)));
});

/** A real profile of a two-module tree. */
function sample(): Profile {
  const m = new Sequential(new Conv1d(1, 2, 1), new Conv1d(2, 1, 1)), x = ones([1, 1, 4]);
  return profile(() => m.forward(x), { module: m }).profile;
}

test('formatProfile: a value that is not a profile is a ConvError naming the field; topModules is checked', () => {
  const p = sample();
  assertConvError(() => formatProfile(null as never), 'formatProfile', 'profile', /must be a Profile \(what profile\(\) returns\); got null/);
  assertConvError(() => formatProfile({} as never), 'formatProfile', 'profile.totalMs', /must be a finite number; got undefined/);
  assertConvError(() => formatProfile({ ...p, totalMs: NaN }), 'formatProfile', 'profile.totalMs', /got NaN/);
  assertConvError(() => formatProfile({ ...p, byKind: { ...p.byKind, waiting: '1' as never } }), 'formatProfile', 'profile.byKind.waiting', /must be a finite number; got '1'/);
  assertConvError(() => formatProfile({ ...p, calls: null as never }), 'formatProfile', 'profile.calls', /must be an object with a number per kind; got null/);
  assertConvError(() => formatProfile({ ...p, calls: { ...p.calls, convolution: 1.5 } }), 'formatProfile', 'profile.calls.convolution', /must be a non-negative integer; got 1\.5/);
  assertConvError(() => formatProfile({ ...p, modules: 'x' as never }), 'formatProfile', 'profile.modules', /must be a list of module entries; got 'x'/);
  assertConvError(() => formatProfile({ ...p, modules: [null as never] }), 'formatProfile', 'profile.modules[0]', /must be an object/);
  assertConvError(() => formatProfile({ ...p, modules: [{ ...p.modules[0], type: 7 as never }] }), 'formatProfile', 'profile.modules[0].type', /must be a string; got 7/);
  assertConvError(() => formatProfile(throwingObject() as never), 'formatProfile', 'profile', /could not be read \(trap\)/);
  assertConvError(() => formatProfile(throwingGetter('totalMs') as never), 'formatProfile', 'profile', /could not be read \(getter\)/);
  assertConvError(() => formatProfile({ ...p, modules: throwingArray() as never }), 'formatProfile', 'profile.modules', /could not be read \(trap\)/);
  for (const t of [-1, NaN, 1.5, '3', null])
    assertConvError(() => formatProfile(p, t as number), 'formatProfile', 'topModules', /must be a non-negative integer or Infinity; got /);
  // Valid calls: the text is String(p); topModules limits the module rows.
  assert.equal(formatProfile(p), String(p));
  const rows = (s: string) => s.split('\n').filter((l) => /Conv1d|Sequential/.test(l)).length;
  assert.equal(rows(formatProfile(p)), 3);
  assert.equal(rows(formatProfile(p, Infinity)), 3);
  assert.equal(rows(formatProfile(p, 1)), 1);
  assert.equal(rows(formatProfile(p, 0)), 0);
});

test('writeNpy: a second argument is a ConvError, not ignored, and a hostile one cannot hide a bad tensor', () => {
  const x = tensor(new Float64Array([1, 2, 3]));
  // As a JavaScript caller may call it: the declared signature takes only the tensor.
  const call = writeNpy as (...a: unknown[]) => Uint8Array;
  assertConvError(() => call(x, { dtype: 'float32' }), 'npy', 'options', /must be absent: writeNpy takes only the tensor .*; got \{"dtype":"float32"\}/);
  assertConvError(() => call(x, throwingObject()), 'npy', 'options', /must be absent/);
  assertConvError(() => call(x, undefined, 'f8'), 'npy', 'options', /got 'f8'$/);
  assertConvError(() => call(null, throwingObject()), 'npy', 'tensor', /must be a Tensor; got 'object'/);
  assertConvError(() => call(new Proxy(x, { get: trap }), { dtype: 'float32' }), 'npy', 'tensor', /must be a Tensor; got 'object'/);
  // The tensor is written as it is, with or without an explicit undefined; npz members too.
  const back = readNpy(call(x, undefined));
  assert.equal(back.dtype, 'float64');
  assert.deepEqual(Array.from(back.data), [1, 2, 3]);
  assert.deepEqual(writeNpy(x), call(x, undefined));
  assert.deepEqual(Array.from(readNpz(writeNpz({ x })).x.data), [1, 2, 3]);
});

test('sweep: hostile values in any argument of these helpers give a ConvError or an exact result, never NaN or a raw TypeError/RangeError', () => {
  const hostile = fc.constantFrom<() => unknown>(
    () => null, () => undefined, () => NaN, () => Infinity, () => -1, () => 0, () => 0.5, () => 2 ** 53, () => 2 ** 60, () => 'x', () => '3', () => true,
    () => ({}), () => [], () => [NaN], () => [1], () => [1, 2, 3], () => [-1, 0], () => [2 ** 53, 0], () => 10n, () => Symbol('s'),
    throwingObject, throwingArray, () => throwingGetter('totalMs'), cyclic,
  );
  const p = sample(), x = ones([2]);
  const calls: Record<string, [(...a: unknown[]) => unknown, unknown[]]> = {
    span: [span as never, [3, 2]], convOutSize: [convOutSize as never, [10, 3, 2, 1, [1, 1]]],
    convTransposeOutSize: [convTransposeOutSize as never, [10, 3, 2, 1, [1, 1], 1]], outputSizeRange: [outputSizeRange as never, [10, 3, 2, 1, [1, 1]]],
    torchSamePads: [torchSamePads as never, [3, 2]], paddleSamePads: [paddleSamePads as never, [10, 3, 2]],
    halfToFloat: [halfToFloat as never, [0x3c00]], bfloatToFloat: [bfloatToFloat as never, [0x3f80]],
    formatProfile: [formatProfile as never, [p, 20]], writeNpy: [writeNpy as never, [x, undefined]],
  };
  const exactNumbers = (r: unknown): boolean =>
    typeof r === 'number' ? Number.isSafeInteger(r) : Array.isArray(r) ? r.every(exactNumbers) : Object.values(r as object).every(exactNumbers);
  const shape = new Set(['span', 'convOutSize', 'convTransposeOutSize', 'outputSizeRange', 'torchSamePads', 'paddleSamePads']);
  fc.assert(fc.property(fc.constantFrom(...Object.keys(calls)), fc.nat(), hostile, fc.boolean(), hostile, (name, at, a, both, b) => {
    const [f, valid] = calls[name], args = [...valid];
    args[at % args.length] = a();
    if (both) args[(at + 1) % args.length] = b();
    let r: unknown;
    try {
      r = f(...args);
    } catch (e) {
      if (!(e instanceof ConvError)) assert.fail(`${name}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      return;
    }
    if (shape.has(name)) assert.ok(exactNumbers(r), `${name}${fmt(args)} = ${fmt(r)}`);
    else if (name === 'formatProfile') assert.equal(typeof r, 'string');
    else if (name === 'writeNpy') assert.ok(r instanceof Uint8Array);
    else assert.ok(!Number.isNaN(r), `${name}${fmt(args)} = NaN`);
  }), { numRuns: 800, seed: 1313 });
});
