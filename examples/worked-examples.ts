/**
 * Every worked example of the specification, computed by convkit in PyTorch's and Paddle's terms,
 * printed with its expected value and a ✓ or ✗.  Run with `npm run example`.
 */
import {
  Conv1d, Conv1DTranspose, ConvTranspose1d, ConvTranspose2d, Conv2DTranspose, paddle, randn, tensor,
  convTranspose2d, type Tensor, type NestedArray,
} from '../src/index.js';

type Nested = number | readonly Nested[];

const useColour = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, s: string) => (useColour ? `\x1b[${code}m${s}\x1b[0m` : s);
const tick = paint(32, '✓'), cross = paint(31, '✗');

let passed = 0, failed = 0;

const flat = (v: Nested): number[] => (typeof v === 'number' ? [v] : v.flatMap(flat));
const shapeOf = (v: Nested): number[] => (typeof v === 'number' ? [] : [v.length, ...shapeOf(v[0])]);
const round = (v: Nested): Nested => (typeof v === 'number' ? Math.round(v * 1e4) / 1e4 : v.map(round));

/** Rows of a 2-D array, or the whole value on one line. */
function show(v: Nested, indent: string): string {
  const s = shapeOf(v);
  if (s.length >= 2 && s.length <= 4 && flat(v).length > 6) {
    let m: Nested = v;
    while (shapeOf(m).length > 2) m = (m as readonly Nested[])[0];
    return (m as readonly Nested[]).map((row) => indent + JSON.stringify(round(row)).replace(/,/g, ', ')).join('\n');
  }
  return indent + JSON.stringify(round(v)).replace(/,/g, ', ');
}

function report(title: string, ok: boolean, got: string, expected: string): void {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? tick : cross} ${title}`);
  console.log(`    computed:\n${got}`);
  console.log(`    expected:\n${expected}`);
}

function checkValues(title: string, y: Tensor, expected: Nested): void {
  const got = y.toArray() as Nested;
  const shapeOk = JSON.stringify(shapeOf(got)) === JSON.stringify(shapeOf(expected));
  const e = flat(expected), a = flat(got);
  const ok = shapeOk && a.every((v, i) => Math.abs(v - e[i]) <= 1e-5 * (1 + Math.abs(e[i])));
  report(`${title}  shape ${JSON.stringify(y.shape)}`, ok, show(got, '      '), show(expected, '      '));
}

function checkShape(title: string, y: Tensor, expected: number[]): void {
  const ok = JSON.stringify(y.shape) === JSON.stringify(expected);
  report(title, ok, `      ${JSON.stringify(y.shape)}`, `      ${JSON.stringify(expected)}`);
}

function section(s: string): void {
  console.log(`\n${paint(1, s)}`);
}

// 1. Paddle Conv1DTranspose(2, 1, 2), bias 0.
section('1. Paddle Conv1DTranspose(2, 1, 2)');
{
  const x = tensor([[[4, 0, 9, 7], [8, 0, 9, 2]]]);
  const w: NestedArray = [[[7, 0]], [[4, 2]]];
  const layer = new Conv1DTranspose(2, 1, 2);
  layer.weight.data.set(flat(w));
  checkValues('paddle.nn.Conv1DTranspose(2, 1, 2)(x), bias 0', layer.forward(x), [[[60, 16, 99, 75, 4]]]);
  checkValues('paddle.nn.functional.conv1d_transpose(x, w)', paddle.conv1dTranspose(x, tensor(w)), [[[60, 16, 99, 75, 4]]]);
  const nlc = paddle.conv1dTranspose(tensor([[[4, 8], [0, 0], [9, 9], [7, 2]]]), tensor(w), null, { dataFormat: 'NLC' });
  checkValues("the same with data_format='NLC'", nlc, [[[60], [16], [99], [75], [4]]]);
}

// 2. PyTorch ConvTranspose2d(1, 1, 2, bias=False).
section('2. PyTorch ConvTranspose2d(1, 1, 2, bias=False), x = [[0, 1], [2, 3]], w = [[1.1, 2.2], [3.3, 4.4]]');
{
  const x = tensor([[[[0, 1], [2, 3]]]]);
  const w = [[[[1.1, 2.2], [3.3, 4.4]]]];
  const cases: [string, ConstructorParameters<typeof ConvTranspose2d>[3], Nested][] = [
    ['stride 1', {}, [[0, 1.1, 2.2], [2.2, 11, 11], [6.6, 18.7, 13.2]]],
    ['stride (1, 2)', { stride: [1, 2] }, [[0, 0, 1.1, 2.2], [2.2, 4.4, 6.6, 11], [6.6, 8.8, 9.9, 13.2]]],
    ['dilation 2', { dilation: 2 }, [[0, 1.1, 0, 2.2], [2.2, 3.3, 4.4, 6.6], [0, 3.3, 0, 4.4], [6.6, 9.9, 8.8, 13.2]]],
    ['padding 1 (crops the full output)', { padding: 1 }, [[11]]],
    ['stride 2, output_padding 1 (last row and column 0)', { stride: 2, outputPadding: 1 },
      [[0, 0, 1.1, 2.2, 0], [0, 0, 3.3, 4.4, 0], [2.2, 4.4, 3.3, 6.6, 0], [6.6, 8.8, 9.9, 13.2, 0], [0, 0, 0, 0, 0]]],
  ];
  for (const [name, opts, expected] of cases) {
    const layer = new ConvTranspose2d(1, 1, 2, { ...opts, bias: false });
    layer.weight.data.set(flat(w));
    checkValues(`torch.nn.ConvTranspose2d(1, 1, 2, ${name})`, layer.forward(x), [[expected]]);
  }
  const dilatedKernel = tensor([[[[1.1, 0, 2.2], [0, 0, 0], [3.3, 0, 4.4]]]]);
  checkValues('stride 1 with the dilated kernel [[1.1,0,2.2],[0,0,0],[3.3,0,4.4]] (= dilation 2)',
    convTranspose2d(x, dilatedKernel), [[cases[2][2]]]);
  const viaPaddle = new Conv2DTranspose(1, 1, 2, { stride: 2, outputPadding: 1, biasAttr: false });
  viaPaddle.weight.data.set(flat(w));
  checkValues('paddle.nn.Conv2DTranspose(1, 1, 2, stride=2, output_padding=1)', viaPaddle.forward(x), [[cases[4][2]]]);
}

// 3–5. Shapes.
section('3–5. Output shapes');
{
  const seed = 7;
  checkShape('3. ConvTranspose1d(16, 8, 3, stride=2, padding=1, output_padding=1) on (1, 16, 10)',
    new ConvTranspose1d(16, 8, 3, { stride: 2, padding: 1, outputPadding: 1, seed }).forward(randn([1, 16, 10], { seed })), [1, 8, 20]);
  checkShape('4. Conv1d(16, 33, 3, stride=2) on (20, 16, 50)',
    new Conv1d(16, 33, 3, { stride: 2, seed }).forward(randn([20, 16, 50], { seed })), [20, 33, 24]);
  checkShape('5. ConvTranspose2d(32, 64, 4, stride=2, padding=1) on (1, 32, 16, 16)',
    new ConvTranspose2d(32, 64, 4, { stride: 2, padding: 1, seed }).forward(randn([1, 32, 16, 16], { seed })), [1, 64, 32, 32]);
  checkShape("Paddle Conv1DTranspose(16, 8, 3, stride=2, padding='SAME') on (1, 16, 10): L·s",
    new Conv1DTranspose(16, 8, 3, { stride: 2, padding: 'SAME', seed }).forward(randn([1, 16, 10], { seed })), [1, 8, 20]);
}

console.log(`\n${failed === 0 ? tick : cross} ${passed} of ${passed + failed} worked examples hold`);
process.exitCode = failed === 0 ? 0 : 1;
