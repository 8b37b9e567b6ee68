/**
 * Run by test/wasm-window.test.ts in a child Node (with or without relaxed SIMD enabled): checks which
 * module the engine chose against `--expect relaxed|plain`, then window invariance (helpers/window.ts)
 * on random geometries with that module. Prints one JSON line of what it checked; exits 1 on a failure.
 */
import assert from 'node:assert/strict';
import { wasmEngine } from '../../src/kernels/wasm/glue.js';
import { checkWindows } from './window.js';

const expect = process.argv[process.argv.indexOf('--expect') + 1];
const e = wasmEngine();
assert.ok(e, 'the wasm engine loads');
assert.equal(e.relaxed, expect === 'relaxed', `expected the ${expect} module, the engine chose ${e.relaxed ? 'relaxed' : 'plain'}`);
const cases = checkWindows(Number(process.argv[process.argv.indexOf('--runs') + 1]), 8128);
console.log(JSON.stringify({ relaxed: e.relaxed, cases }));
process.exit(0);
