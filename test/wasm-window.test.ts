/**
 * Window invariance of the wasm kernels: an output position gets the same bits from a call over the
 * whole input as from a call over any window of x that holds all of its taps, whatever the call's
 * length, column tiling and thread count (streams rely on it: concat(pushes) == forward(whole)).
 * A convT run as GEMM + col2im (cIn/groups ≥ 256) used to add the columns of one output position
 * in tap order within a column tile but in column order across tiles, so positions whose taps
 * straddle a tile boundary (every 1024 columns of HiFi-GAN-like layers) differed by an ulp from a
 * window's; a depthwise row's edge positions (scalar) did not round as its vector positions in the
 * relaxed-SIMD build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cat, ConvTranspose1d, convTranspose1d, narrow, noGrad, setNumThreads, tensor } from '../src/index.js';
import { seededValues as values } from './helpers/seeded.js';
import { assertWindowed, checkWindows } from './helpers/window.js';

const root = fileURLToPath(new URL('..', import.meta.url));

test('ConvTranspose1d(256 → 128, k16, s8, p4) over 2072 frames: windows and a stream give the whole call\'s bits at every position', () => {
  const x = tensor(values(256 * 2072, 1), [1, 256, 2072]), w = tensor(values(256 * 128 * 16, 2), [256, 128, 16]), b = tensor(values(128, 3), [128]);
  const m = new ConvTranspose1d(256, 128, 16, { stride: 8, padding: 4, seed: 2 });
  try {
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      const full = noGrad(() => convTranspose1d(x, w, b, { stride: 8, padding: 4 }));
      const T = full.shape[2];
      // Windows around the column tiles' boundaries (q = 1024, 2048) and elsewhere; window output t' is t = 8a − 4 + t'.
      for (const [a, W] of [[1000, 40], [1020, 40], [1, 1100], [2030, 42], [300, 1500]]) {
        const yw = noGrad(() => convTranspose1d(narrow(x, 2, a, W), w, b, { stride: 8 }));
        const Tw = yw.shape[2];
        for (let tw = 8; tw <= 8 * (W - 1) && 8 * a - 4 + tw < T; tw++)
          for (let c = 0; c < 128; c++)
            if (!Object.is(yw.data[c * Tw + tw], full.data[c * T + 8 * a - 4 + tw]))
              assert.fail(`${threads} thread(s): window [${a}, ${a + W}) differs at t = ${8 * a - 4 + tw}, channel ${c}`);
      }
      const whole = noGrad(() => m.forward(x)), s = m.stream();
      const outs = noGrad(() => {
        const o = [];
        for (let at = 0; at < 2072; at += 32) o.push(s.push(narrow(x, 2, at, Math.min(32, 2072 - at))));
        o.push(s.flush());
        return o;
      });
      assert.deepEqual(noGrad(() => cat(outs, 2)).data, whole.data, `${threads} thread(s): stream vs forward`);
    }
  } finally {
    setNumThreads(1);
  }
});

test('a deep convT run as GEMM + col2im: windows across its column tiles, 1-D and 2-D, 1 and 2 threads', () => {
  try {
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      const base = { transposed: true, n: 1, groups: 1, H: 1, kh: 1, at: 0.3, len: 0.6, seed: 17 };
      assertWindowed({ ...base, rank: 1, cig: 256, cog: 3, k: 4, s: 2, d: 1, p: 1, L: 2600 }, `${threads} thread(s)`);
      assertWindowed({ ...base, rank: 1, cig: 300, cog: 5, k: 7, s: 3, d: 2, p: 2, L: 1900, groups: 2, at: 0.1, len: 0.9 }, `${threads} thread(s)`);
      assertWindowed({ ...base, rank: 2, cig: 256, cog: 2, k: 5, s: 2, d: 1, p: 2, L: 700, H: 4, kh: 3, at: 0.2, len: 0.7 }, `${threads} thread(s)`);
    }
  } finally {
    setNumThreads(1);
  }
});

test('random geometries (conv, phases, col2im, depthwise; depths past one GEMM block): windows give the whole call\'s bits', () => {
  assert.equal(checkWindows(60), 60);
});

function child(flag: string, expect: 'relaxed' | 'plain') {
  const r = spawnSync(process.execPath, [flag, '--import', 'tsx', 'test/helpers/window-child.ts', '--expect', expect, '--runs', '40'],
    { cwd: root, encoding: 'utf8', timeout: 280_000 });
  assert.equal(r.status, 0, `child ${flag} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { relaxed: boolean; cases: number };
  assert.deepEqual(report, { relaxed: expect === 'relaxed', cases: 40 });
}

test('window invariance holds in the relaxed-SIMD build (fused multiply-adds) and in the plain build', () => {
  child('--experimental-wasm-relaxed-simd', 'relaxed');
  child('--no-experimental-wasm-relaxed-simd', 'plain');
});
