/**
 * End-to-end test of the explainer page: builds web/ with Vite, serves dist-web/ on 127.0.0.1 and
 * drives it in headless Chromium. Expected values come from docs/behaviour.md's worked examples, from an
 * independent scatter written here, and from convkit itself (error messages).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose } from './helpers/close.js';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { build } from 'vite';
import { type Page } from 'playwright-core';
import { conv2d, convTranspose2d, tensor } from '../src/index.js';
import { launchChromiumContext, pageProblems, serve, type ChromiumContext, type Served } from './helpers/browser.js';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const distWeb = join(repo, 'dist-web');

let server: Served;
let chromium: ChromiumContext;
let page: Page;
let base = '';

before(async () => {
  await build({ configFile: join(repo, 'web', 'vite.config.ts'), logLevel: 'silent' });
  server = await serve(distWeb);
  base = server.url;
  chromium = await launchChromiumContext('e2e', { viewport: { width: 1280, height: 900 } });
  page = chromium.context.pages()[0] ?? (await chromium.context.newPage());
  page.setDefaultTimeout(5000);
  const problems = pageProblems(page);
  await page.goto(base);
  await page.waitForSelector('table[data-grid="output-0"]');
  assert.deepEqual(problems, []);
});

after(async () => {
  await chromium?.close();
  await server?.close();
});

// ---------------------------------------------------------------------------------------------
// Helpers

/** Values of a displayed grid, row by row (blank cells as NaN). */
async function gridValues(role: string): Promise<number[][]> {
  return page.$$eval(`table[data-grid="${role}"] tbody tr`, (rows) =>
    rows.map((r) => Array.from(r.querySelectorAll('td'), (td) => {
      const t = td.querySelector('.v')?.textContent ?? '';
      return t === '' ? Number.NaN : Number(t);
    })));
}
const shapeText = () => page.textContent('#output-shape');
async function clickPreset(id: string): Promise<void> {
  await page.click(`button[data-preset="${id}"]`);
  await page.waitForSelector(`button[data-preset="${id}"][aria-pressed="true"]`);
}
function assertRows(actual: number[][], expected: number[][], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: rows`);
  actual.forEach((row, r) => assert.equal(row.length, expected[r].length, `${what}: row ${r} length`));
  assertClose(actual, expected, { rtol: 1e-4, relativeTo: 'element', floor: 1 }, what);
}

/** An independent single-channel transposed conv: scatter x·w to i·s + j·δ, crop p, extend by op. */
function scatter2d(x: number[][], w: number[][], s: [number, number], d: [number, number], p: [number, number], op: [number, number]): number[][] {
  const [H, W] = [x.length, x[0].length], [kh, kw] = [w.length, w[0].length];
  const oh = (H - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op[0] + 1, ow = (W - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op[1] + 1;
  const y = Array.from({ length: oh }, () => new Array<number>(ow).fill(0));
  for (let i = 0; i < H; i++) for (let j = 0; j < W; j++)
    for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
      const r = i * s[0] + a * d[0] - p[0], c = j * s[1] + b * d[1] - p[1];
      if (r >= 0 && r < oh && c >= 0 && c < ow) y[r][c] += x[i][j] * w[a][b];
    }
  return y;
}

const X = [[0, 1], [2, 3]], Wk = [[1.1, 2.2], [3.3, 4.4]];
const EX2: { id: string; shape: number[]; spec?: number[][]; s: [number, number]; d: [number, number]; p: [number, number]; op: [number, number] }[] = [
  { id: 'ex2-stride1', shape: [1, 1, 3, 3], spec: [[0, 1.1, 2.2], [2.2, 11, 11], [6.6, 18.7, 13.2]], s: [1, 1], d: [1, 1], p: [0, 0], op: [0, 0] },
  { id: 'ex2-stride12', shape: [1, 1, 3, 4], spec: [[0, 0, 1.1, 2.2], [2.2, 4.4, 6.6, 11], [6.6, 8.8, 9.9, 13.2]], s: [1, 2], d: [1, 1], p: [0, 0], op: [0, 0] },
  { id: 'ex2-dilation2', shape: [1, 1, 4, 4], spec: [[0, 1.1, 0, 2.2], [2.2, 3.3, 4.4, 6.6], [0, 3.3, 0, 4.4], [6.6, 9.9, 8.8, 13.2]], s: [1, 1], d: [2, 2], p: [0, 0], op: [0, 0] },
  { id: 'ex2-padding1', shape: [1, 1, 1, 1], spec: [[11]], s: [1, 1], d: [1, 1], p: [1, 1], op: [0, 0] },
  { id: 'ex2-stride2-op1', shape: [1, 1, 5, 5], s: [2, 2], d: [1, 1], p: [0, 0], op: [1, 1] },
];

// ---------------------------------------------------------------------------------------------

test('docs/behaviour.md example 2 presets show the expected outputs, shapes and a matching equivalence', async () => {
  for (const ex of EX2) {
    await clickPreset(ex.id);
    assert.equal(await shapeText(), `[${ex.shape.join(', ')}]`, ex.id);
    const shown = await gridValues('output-0');
    if (ex.spec) assertRows(shown, ex.spec, `${ex.id} (docs/behaviour.md)`);
    assertRows(shown, scatter2d(X, Wk, ex.s, ex.d, ex.p, ex.op), `${ex.id} (scatter)`);
    if (ex.id === 'ex2-stride2-op1') {
      assert.ok(shown[4].every((v) => v === 0) && shown.every((row) => row[4] === 0), 'last row and column are 0');
    }
    const verdict = await page.textContent('#equiv-verdict');
    assert.match(verdict ?? '', /^✓ matches convTranspose2d: max \|difference\| = 0$/, ex.id);
    // The equivalent conv's result equals the transposed conv's output cell for cell.
    assertRows(await gridValues('equiv-y-0'), shown, `${ex.id} equivalence`);
  }
});

test('Paddle Conv1DTranspose preset (docs/behaviour.md example 1) and its Paddle code', async () => {
  await clickPreset('ex1-paddle');
  assert.equal(await shapeText(), '[1, 1, 5]');
  assertRows(await gridValues('output-0'), [[60, 16, 99, 75, 4]], 'paddle example');
  // Long constructor calls wrap; compare them on one line.
  const oneLine = (c: string | null) => (c ?? '').replace(/\(\n\s+/g, '(').replace(/,\n\s+/g, ', ');
  const code = oneLine(await page.textContent('#code-paddle'));
  assert.match(code, /paddle\.nn\.Conv1DTranspose\(2, 1, kernel_size=2, stride=1, padding=0, dilation=1, groups=1, bias_attr=False\)/);
  assert.match(code, /m\.weight\.set_value\(paddle\.to_tensor\(\[\[\[7\., 0\.\]\], \[\[4\., 2\.\]\]\], dtype='float32'\)\)/);
  const torch = oneLine(await page.textContent('#code-torch'));
  assert.match(torch, /nn\.ConvTranspose1d\(2, 1, kernel_size=2, stride=1, padding=0, output_padding=0, groups=1, bias=False, dilation=1\)/);
  assert.match(await page.textContent('#formula') ?? '', /\(4 − 1\)·1 − 0 − 0 \+ 1·\(2 − 1\) \+ 0 \+ 1 = 5/);
});

test('stepping through a scatter highlights the kernel footprint, the crop and the output padding', async () => {
  await clickPreset('ex2-stride2-op1');
  assert.equal(await page.getAttribute('#step-prev', 'aria-disabled'), 'true');
  await page.focus('#step-next');
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
  assert.match((await page.textContent('#step-title')) ?? '', /^Step 4 of 4: x\[0, 0\]\[1, 1\] = 3$/);
  assert.equal(await page.inputValue('#step-slider'), '3');
  const hits = await page.$$eval('table[data-grid="step-0"] td.hit', (tds) =>
    tds.map((td) => `${td.getAttribute('data-r')},${td.getAttribute('data-c')}:${td.querySelector('.n')?.textContent}`));
  // Input element (1, 1) lands at f = i·s + j·δ = (2 + a, 2 + b), each x·w[a][b].
  const expected: string[] = [];
  for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) expected.push(`${2 + a},${2 + b}:+3·${Wk[a][b]}`);
  assert.deepEqual(hits.sort(), expected.sort());
  // Output padding: the 5th row and column of the 5×5 output lie beyond the 4×4 scatter.
  const outpad = await page.$$eval('table[data-grid="step-0"] td.outpad', (tds) => tds.length);
  assert.equal(outpad, 5 + 5 - 1);
  // The source element is highlighted in the input grid.
  assert.deepEqual(await page.$$eval('table[data-grid="step-source-0"] td.hit', (tds) => tds.map((td) => td.getAttribute('data-r') + ',' + td.getAttribute('data-c'))), ['1,1']);
  // ← and the buttons go back; the slider follows.
  await page.keyboard.press('ArrowLeft');
  assert.match((await page.textContent('#step-title')) ?? '', /^Step 3 of 4: x\[0, 0\]\[1, 0\] = 2$/);
  await page.click('#step-first');
  assert.equal(await page.inputValue('#step-slider'), '0');

  // Padding 1 crops the 3×3 full output to its centre: 8 cropped cells.
  await clickPreset('ex2-padding1');
  const cls = await page.$$eval('table[data-grid="step-0"] td', (tds) => tds.map((td) => td.className));
  assert.equal(cls.length, 9);
  assert.equal(cls.filter((c) => c.includes('crop')).length, 8);
  await page.click('#step-last');
  const full = await gridValues('step-0');
  assertRows(full, scatter2d(X, Wk, [1, 1], [1, 1], [0, 0], [0, 0]), 'full uncropped output after the last step');
});

test('a convolution shows the window each output reads', async () => {
  await clickPreset('ex2-stride1');
  await page.selectOption('#op', 'conv');
  await page.fill('#in-size-0', '3');
  await page.dispatchEvent('#in-size-0', 'change');
  await page.fill('#padding', '1');
  await page.waitForFunction(() => document.querySelector('#output-shape')?.textContent === '[1, 1, 4, 3]');
  // Output (2, 1) with stride 1 reads padded rows 2..3, cols 1..2.
  await page.fill('#step-slider', String(2 * 3 + 1));
  await page.dispatchEvent('#step-slider', 'input');
  const hits = await page.$$eval('table[data-grid="step-0"] td.hit', (tds) => tds.map((td) => `${td.getAttribute('data-r')},${td.getAttribute('data-c')}`));
  assert.deepEqual(hits.sort(), ['2,1', '2,2', '3,1', '3,2']);
  // The displayed output equals convkit's conv2d of the displayed input and kernel.
  const x = (await gridValues('input-0')).flat(), w = (await gridValues('kernel-0')).flat();
  const y = conv2d(tensor([x], [1, 1, 3, 2]), tensor([w], [1, 1, 2, 2]), null, { padding: 1 });
  assertRows(await gridValues('output-0'), [0, 1, 2, 3].map((r) => Array.from(y.data.slice(r * 3, r * 3 + 3))), 'conv output');
  assert.equal(await page.isHidden('#equiv'), true);
});

test('invalid parameters show convkit\'s ConvError message in place', async () => {
  const messageOf = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('expected an error');
  };
  const x = tensor([[[[0, 1], [2, 3]]]]), w = tensor([[[[1.1, 2.2], [3.3, 4.4]]]]);
  await clickPreset('ex2-stride1');
  await page.fill('#output-padding', '1');
  await page.waitForSelector('#error-text');
  assert.equal(await page.textContent('#error-text'), messageOf(() => convTranspose2d(x, w, null, { outputPadding: 1 })));
  assert.equal(await page.getAttribute('#output-padding', 'aria-invalid'), 'true');
  assert.equal(await page.isHidden('#ok'), true);
  assert.equal(await page.getAttribute('#error', 'role'), 'alert');

  await page.fill('#output-padding', '0');
  await page.fill('#stride', '2');
  await page.fill('#output-size', '7');
  await page.waitForSelector('#error-text');
  const sizeMsg = messageOf(() => convTranspose2d(x, w, null, { stride: 2, outputSize: [7] }));
  assert.match(sizeMsg, /outputSize must have 2/);
  await page.fill('#output-size', '7, 4');
  assert.equal(await page.textContent('#error-text'), messageOf(() => convTranspose2d(x, w, null, { stride: 2, outputSize: [7, 4] })));
  await page.fill('#output-size', '4, 5');
  await page.waitForSelector('#error-text', { state: 'detached' });
  assert.equal(await shapeText(), '[1, 1, 4, 5]');

  await clickPreset('ex2-stride1');
  await page.selectOption('#op', 'conv');
  await page.fill('#k-size-0', '4');
  await page.dispatchEvent('#k-size-0', 'change');
  await page.waitForSelector('#error-text');
  const text = (await page.textContent('#error-text')) ?? '';
  assert.match(text, /^conv2d: input is too small: kernel \(dilated\) is larger than the padded input/);
  const k = (await page.$$eval('#w-editor input', (els) => els.map((e) => Number((e as HTMLInputElement).value))));
  assert.equal(text, messageOf(() => conv2d(x, tensor(k, [1, 1, 4, 2]), null, {})));
  // Fixing it brings the results back.
  await page.fill('#padding', '1');
  await page.waitForSelector('#error-text', { state: 'detached' });
  assert.equal(await shapeText(), '[1, 1, 1, 3]');
});

test('phone width has no horizontal overflow; the page is keyboard reachable; screenshot is not blank', async () => {
  await clickPreset('ex2-stride2-op1');
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px at 375px`);
  await mkdir(join(repo, 'test-output'), { recursive: true });
  await page.screenshot({ path: join(repo, 'test-output', 'explainer-phone.png'), fullPage: true });

  await page.setViewportSize({ width: 1280, height: 900 });
  // Tab order from a fresh load: skip link, then the first preset button.
  await page.goto(base);
  await page.waitForSelector('table[data-grid="output-0"]');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to results');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-preset')), 'ex2-stride1');
  // Every form control has an accessible label.
  const unlabelled = await page.$$eval('input, select', (els) => els.filter((e) => {
    const el = e as HTMLInputElement;
    return !el.getAttribute('aria-label') && !(el.labels && el.labels.length > 0);
  }).map((e) => e.id || e.outerHTML.slice(0, 60)));
  assert.deepEqual(unlabelled, []);

  await clickPreset('ex2-stride2-op1');
  await page.click('#step-next');
  const file = join(repo, 'test-output', 'explainer.png');
  await page.screenshot({ path: file, fullPage: true });
  const { width, height, variance } = pngStats(await readFile(file));
  assert.ok(width >= 1280 && height > 900, `screenshot ${width}×${height}`);
  assert.ok(variance > 200, `screenshot luminance variance ${variance.toFixed(1)} is too low (blank page?)`);
});

// ---------------------------------------------------------------------------------------------
// PNG → luminance variance (8-bit RGB/RGBA, non-interlaced: what Chromium writes).

function pngStats(png: Buffer): { width: number; height: number; variance: number } {
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  let off = 8, width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off), type = png.subarray(off + 4, off + 8).toString('latin1');
    const data = png.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, 'bit depth');
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      assert.ok(channels > 0 && data[12] === 0, 'colour type / interlace');
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  let prev = new Uint8Array(stride), sum = 0, sumSq = 0;
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = new Uint8Array(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? line[i - channels] : 0, b = prev[i], c = i >= channels ? prev[i - channels] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : filter === 4 ? (pa <= pb && pa <= pc ? a : pb <= pc ? b : c) : 0;
      line[i] = (line[i] + pred) & 255;
    }
    for (let x = 0; x < width; x++) {
      const lum = 0.299 * line[x * channels] + 0.587 * line[x * channels + 1] + 0.114 * line[x * channels + 2];
      sum += lum;
      sumSq += lum * lum;
    }
    prev = line;
  }
  const n = width * height, mean = sum / n;
  return { width, height, variance: sumSq / n - mean * mean };
}

