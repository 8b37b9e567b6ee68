/**
 * Turns a `npm run bench -- --json FILE` result into the Markdown table of the README:
 * `node --import tsx bench/markdown.ts FILE`.
 */
import { readFileSync } from 'node:fs';

interface Cell { lib: string; id: string; status: string; ms?: number; gflops?: number }
interface Result {
  date: string;
  mode: string;
  machine: { cpu: string; cores: number; node: string; browser?: string };
  workloads: { id: string; label: string }[];
  cells: Cell[];
}

const WASM_PEERS = ['tfjs-cpu', 'tfjs-wasm', 'ort-web-1t', 'ort-web-2t'];
const NATIVE = ['ort-node-1t', 'ort-node-2t'];

export function markdownTable(r: Result): string {
  const cell = (lib: string, id: string) => r.cells.find((c) => c.lib === lib && c.id === id && c.status === 'ok');
  const ms = (v: number) => (v < 0.1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1));
  const best = (libs: string[], id: string) =>
    libs.map((l) => ({ l, c: cell(l, id) })).filter((e) => e.c).sort((a, b) => a.c!.ms! - b.c!.ms!)[0];
  const lines = [
    `Measured ${r.date.slice(0, 10)} on ${r.machine.cores} × ${r.machine.cpu} cores, ${r.machine.browser ?? `Node ${r.machine.node}`} (${r.mode} run); ` +
      'float32 with bias; median ms per call. Ratios are the peer\'s time over convkit\'s 2-thread time (> 1: convkit is faster).',
    '',
    '| id | workload | convkit 1 thread | convkit 2 threads | GFLOP/s (2 threads) | fastest WebAssembly/JS peer | ratio | native ONNX Runtime (fastest) | ratio |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const w of r.workloads) {
    const one = cell('convkit-1t', w.id), two = cell('convkit-2t', w.id) ?? one;
    if (!one || !two) continue;
    const peer = best(WASM_PEERS, w.id), nat = best(NATIVE, w.id);
    const fmtPeer = (e: typeof peer) => (e ? `${ms(e.c!.ms!)} (${e.l})` : 'n/a');
    const ratio = (e: typeof peer) => (e ? `${(e.c!.ms! / two.ms!).toFixed(2)}×` : '');
    lines.push(`| ${w.id} | ${w.label} | ${ms(one.ms!)} | ${ms(two.ms!)} | ${two.gflops!.toFixed(1)} | ${fmtPeer(peer)} | ${ratio(peer)} | ${fmtPeer(nat)} | ${ratio(nat)} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node --import tsx bench/markdown.ts RESULT.json');
    process.exit(2);
  }
  console.log(markdownTable(JSON.parse(readFileSync(file, 'utf8')) as Result));
}
