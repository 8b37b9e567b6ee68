/**
 * The relaxed-SIMD build (fused multiply-adds) is chosen where the host validates it and the plain
 * build elsewhere; either one equals the reference kernels on random geometries (f32 and f64 GEMM,
 * polyphase and depthwise) and is bitwise identical across runs and across 1 and 2 threads. Each
 * case runs in a child Node so that the V8 flag decides the module (test/helpers/relaxed-child.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function child(flag: string, expect: 'relaxed' | 'plain') {
  const r = spawnSync(process.execPath, [flag, '--import', 'tsx', 'test/helpers/relaxed-child.ts', '--expect', expect],
    { cwd: root, encoding: 'utf8', timeout: 280_000 });
  assert.equal(r.status, 0, `child ${flag} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { relaxed: boolean; cases: number; outputs: number };
  assert.equal(report.relaxed, expect === 'relaxed');
  assert.equal(report.cases, 200);
  assert.equal(report.outputs, 12);
}

test('with --experimental-wasm-relaxed-simd the relaxed module is selected and equals the reference, bitwise across threads', () => {
  child('--experimental-wasm-relaxed-simd', 'relaxed');
});

test('without relaxed SIMD the plain module is selected and equals the reference, bitwise across threads', () => {
  child('--no-experimental-wasm-relaxed-simd', 'plain');
});
