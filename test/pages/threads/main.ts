/**
 * Test page for test/browser-threads.test.ts: runs convTranspose1d synchronously (main thread, one
 * thread) and with convTranspose1dAsync (driver worker; on crossOriginIsolated pages its pool's
 * Web Workers run units too) and reports both results' bits, the threads and the units workers ran.
 */
import { asyncStats, asyncThreads, convTranspose1d, convTranspose1dAsync, getNumThreads, setNumThreads, tensor, withBackend } from 'convkit';

/** Deterministic inputs both this page and the Node test build: v_i = ((i·7919) mod 1009 − 504) / 256. */
const data = (n: number, salt: number) => Float32Array.from({ length: n }, (_, i) => (((i + salt) * 7919) % 1009 - 504) / 256);

/** FNV-1a over the float32 bits. */
function hashBits(a: Float32Array): string {
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i], 0x01000193) >>> 0;
  return h.toString(16);
}

async function check(threads: number) {
  setNumThreads(threads);
  const x = tensor(data(2 * 32 * 3000, 1), [2, 32, 3000]);
  const w = tensor(data(32 * 16 * 8, 2), [32, 16, 8]);
  const opts = { stride: 4, padding: 2 };
  const sync = withBackend('wasm', () => convTranspose1d(x, w, null, opts));
  // The driver's workers load before its first call; a page that is not isolated has none.
  let y = await withBackend('wasm', () => convTranspose1dAsync(x, w, null, opts));
  for (let i = 0; crossOriginIsolated && asyncStats().unitsByWorkers === 0 && i < 50; i++)
    y = await withBackend('wasm', () => convTranspose1dAsync(x, w, null, opts));
  // The main thread keeps running while the call runs elsewhere.
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  // Eight queued calls keep the driver busy long enough (tens of ms) for a 1 ms timer to fire.
  const pending = Promise.all(Array.from({ length: 8 }, () => withBackend('wasm', () => convTranspose1dAsync(x, w, null, opts))));
  const ticksAtCall = ticks;
  y = (await pending)[7];
  clearInterval(timer);
  const s = asyncStats();
  return {
    isolated: crossOriginIsolated, syncThreads: getNumThreads(), asyncThreads: asyncThreads(),
    shape: y.shape, syncHash: hashBits(sync.data as Float32Array), asyncHash: hashBits(y.data as Float32Array),
    bitwiseEqual: sync.data.length === y.data.length && sync.data.every((v, i) => Object.is(v, y.data[i])),
    driverThreads: s.threads, kernels: s.kernels, offloaded: s.offloaded, unitsByWorkers: s.unitsByWorkers,
    ticksWhileWaiting: ticks - ticksAtCall,
  };
}

(globalThis as unknown as { convkitCheck: typeof check }).convkitCheck = check;
document.getElementById('status')!.textContent = 'ready';
