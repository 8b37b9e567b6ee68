/**
 * Streaming against the full forward for two generators (80 mel channels → 22.05 kHz audio, hop
 * 256): the HiFi-GAN-style Sequential of examples/stream-example.ts and the ported HiFi-GAN V1
 * generator of examples/models/hifigan.ts (random weights: the cost does not depend on them). For
 * chunks from 10 ms to 1 s of audio: the time per chunk, the total cost of streaming the whole
 * signal over one full forward, and the state kept between chunks.
 *
 *   npm run bench:stream [-- --quick] [-- --only style|v1] [-- --json out.json]
 *
 * Chunks are whole mel frames (11.6 ms each), so "10 ms" is one frame. Every streamed output is
 * checked against the full forward (it must be bitwise equal).
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { noGrad, randn, type Module } from '../src/index.js';
import { frames, hifiganStyle, SAMPLE_RATE } from '../examples/stream-example.js';
import { HIFIGAN_V1, HifiganGenerator } from '../examples/models/hifigan.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const only = flag('--only'), jsonPath = flag('--json');
const HOP = 256;
const CHUNKS_MS = [10, 20, 50, 100, 200, 500, 1000];

interface Bench { name: string; title: string; build: () => Module; seconds: number; repeats: number }
const BENCHES: Bench[] = [
  { name: 'style', title: 'HiFi-GAN-style generator (examples/stream-example.ts)', build: () => hifiganStyle(), seconds: quick ? 3 : 10, repeats: quick ? 3 : 7 },
  // V1 is ~14 M parameters, about 60× the style generator's work per sample: a shorter signal.
  { name: 'v1', title: 'HiFi-GAN V1 generator (examples/models/hifigan.ts)', build: () => new HifiganGenerator(HIFIGAN_V1), seconds: quick ? 1 : 3, repeats: quick ? 1 : 3 },
];

interface Row { chunkMs: number; frames: number; audioMs: number; perChunkMs: number; worstMs: number; totalMs: number; ratio: number; stateBytes: number; exact: boolean }
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const f = (v: number, d = 2) => v.toFixed(d);

function run(b: Bench): { name: string; seconds: number; fullMs: number; rows: Row[] } {
  const model = b.build();
  const T = Math.ceil((b.seconds * SAMPLE_RATE) / HOP);
  const mel = randn([1, 80, T], { seed: 42 });
  // Warm-up (JIT, wasm instantiation, thread pool), then the full forward: best of the repeats,
  // the least disturbed by other work on the machine.
  noGrad(() => model.forward(frames(mel, 0, Math.min(T, 16))));
  const fullRuns: number[] = [];
  let full = noGrad(() => model.forward(mel));
  for (let i = 0; i < b.repeats; i++) {
    const t0 = performance.now();
    full = noGrad(() => model.forward(mel));
    fullRuns.push(performance.now() - t0);
  }
  const fullMs = Math.min(...fullRuns);
  const rows: Row[] = [];
  for (const ms of CHUNKS_MS) {
    const n = Math.max(1, Math.round((ms * SAMPLE_RATE) / 1000 / HOP));
    const s = model.stream();
    const totals: number[] = [], per: number[] = [];
    let exact = true, state = 0, worst = 0;
    for (let rep = 0; rep < b.repeats; rep++) {
      s.reset();
      const out = new Float32Array(full.size);
      let written = 0, total = 0;
      for (let at = 0; at < T; at += n) {
        const x = frames(mel, at, Math.min(n, T - at));
        const t0 = performance.now();
        const y = s.push(x);
        const dt = performance.now() - t0;
        total += dt;
        per.push(dt);
        if (rep > 0 || b.repeats === 1) worst = Math.max(worst, dt);
        state = Math.max(state, s.stateBytes);
        out.set(y.data, written);
        written += y.size;
      }
      const t0 = performance.now();
      const rest = s.flush();
      total += performance.now() - t0;
      out.set(rest.data, written);
      totals.push(total);
      for (let i = 0; i < full.size; i++) if (out[i] !== full.data[i]) { exact = false; break; }
    }
    const totalMs = Math.min(...totals);
    rows.push({ chunkMs: ms, frames: n, audioMs: (1000 * n * HOP) / SAMPLE_RATE, perChunkMs: median(per), worstMs: worst, totalMs, ratio: totalMs / fullMs, stateBytes: state, exact });
  }
  console.log(`${b.title}, ${f(T * HOP / SAMPLE_RATE, 1)} s of audio (${T} frames); full forward ${f(fullMs, 1)} ms; whole-stream and full-forward times are the best of ${b.repeats} run(s), time per chunk the median`);
  console.log('');
  console.log('| chunk | frames | audio per chunk | time per chunk (median) | worst | whole stream | × full forward | state |');
  console.log('|------:|------:|------:|------:|------:|------:|------:|------:|');
  for (const r of rows)
    console.log(`| ${r.chunkMs} ms | ${r.frames} | ${f(r.audioMs, 1)} ms | ${f(r.perChunkMs)} ms | ${f(r.worstMs)} ms | ${f(r.totalMs, 1)} ms | ${f(r.ratio)} | ${r.stateBytes} B |${r.exact ? '' : ' NOT EXACT'}`);
  console.log('');
  return { name: b.name, seconds: T * HOP / SAMPLE_RATE, fullMs, rows };
}

const chosen = BENCHES.filter((b) => only === undefined || b.name === only);
if (chosen.length === 0) throw new Error(`--only must be one of ${BENCHES.map((b) => b.name).join(', ')}; got ${only}`);
const results = chosen.map(run);
if (jsonPath) writeFileSync(jsonPath, JSON.stringify({ models: results }, null, 2));
if (results.some((r) => r.rows.some((row) => !row.exact))) process.exitCode = 1;
