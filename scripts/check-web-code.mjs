#!/usr/bin/env node
/**
 * Developer check (not part of `npm test`; needs PyTorch at /usr/bin/python3): drives the built page
 * (`npm run build:web` first) through several configurations, runs the PyTorch code the page shows
 * and compares PyTorch's output and shape with the page's, and checks the equivalence verdict.
 * Usage: node scripts/check-web-code.mjs
 */
import { chromium } from 'playwright-core';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const srv = spawn(process.execPath, ['scripts/serve-web.mjs', '--no-build'], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((ok) => srv.stdout.once('data', (d) => ok(/http:\/\/\S+/.exec(String(d))[0])));
const userDataDir = mkdtempSync(join(tmpdir(), 'convkit-check-'));
const ctx = await chromium.launchPersistentContext(userDataDir, { executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
const page = ctx.pages()[0];
await page.goto(url);
const cases = [
  { preset: 'ex2-stride1' }, { preset: 'ex2-stride12' }, { preset: 'ex2-dilation2' }, { preset: 'ex2-padding1' }, { preset: 'ex2-stride2-op1' }, { preset: 'ex1-paddle' },
  { preset: 'ex2-stride1', set: { '#stride': '2', '#output-size': '5, 4', '#bias': '0.5' } },
  { preset: 'ex2-stride1', set: { '#padding': '[[1, 0], [0, 1]]', '#stride': '2', '#output-padding': '1' } },
  { preset: 'ex2-stride1', sel: { '#op': 'conv' }, set: { '#padding': '[[1, 0], [0, 1]]' } },
  { preset: 'ex2-stride1', sel: { '#op': 'conv' }, set: { '#padding': 'same', '#dilation': '2' } },
  { preset: 'ex2-stride1', sel: { '#api': 'paddle' }, set: { '#padding': 'SAME', '#stride': '2' } },
  { preset: 'ex2-stride1', sel: { '#api': 'paddle', '#op': 'conv' }, set: { '#padding': 'same', '#stride': '2' } },
  { preset: 'ex1-paddle', sel: { '#op': 'conv' }, num: { '#c-out': '4', '#groups': '2', '#k-size-1': '3' }, set: { '#stride': '2', '#padding': '2', '#bias': '1, 2, 3, 4' } },
  { preset: 'ex1-paddle', num: { '#c-out': '4', '#groups': '2', '#k-size-1': '3' }, set: { '#stride': '3', '#dilation': '2', '#padding': '1', '#output-padding': '2' } },
];
let fails = 0;
for (const c of cases) {
  await page.click(`button[data-preset="${c.preset}"]`);
  for (const [k, v] of Object.entries(c.sel ?? {})) await page.selectOption(k, v);
  for (const [k, v] of Object.entries(c.num ?? {})) { await page.fill(k, v); await page.dispatchEvent(k, 'change'); }
  for (const [k, v] of Object.entries(c.set ?? {})) await page.fill(k, v);
  const err = await page.textContent('#error');
  if (err) { console.log('ERROR', JSON.stringify(c), err); fails++; continue; }
  const code = await page.textContent('#code-torch');
  const shape = await page.textContent('#output-shape');
  const vals = await page.$$eval('table[data-grid^="output-"] td .v', (els) => els.map((e) => Number(e.textContent)));
  const py = code.replace(/print\(y\)$/m, 'import json; print(json.dumps(y.detach().flatten().tolist())); print(json.dumps(list(y.shape)))');
  const transposed = (await page.inputValue('#op')) === 'convT';
  const verdict = transposed ? await page.textContent('#equiv-verdict') : '✓';
  const out = execFileSync(PYTHON, ['-c', py]).toString().trim().split('\n');
  const tv = JSON.parse(out[out.length - 2]), ts = JSON.parse(out[out.length - 1]);
  const ok = verdict.startsWith('✓') && `[${ts.join(', ')}]` === shape && tv.length === vals.length && tv.every((v, i) => Math.abs(v - vals[i]) < 1e-4 * Math.max(1, Math.abs(v)));
  if (!ok) fails++;
  console.log(ok ? 'OK  ' : 'FAIL', JSON.stringify(c), shape, ok ? '' : `torch ${ts} ${tv.slice(0, 8)} page ${vals.slice(0, 8)}\n${code}`);
}
await ctx.close();
srv.kill();
rmSync(userDataDir, { recursive: true, force: true });
console.log(`${cases.length - fails} of ${cases.length} configurations: PyTorch reproduces the page`);
process.exitCode = fails ? 1 : 0;
