/**
 * The browser benchmark page's main thread: starts the benchmark's dedicated module Web Worker
 * (bench/browser-bench.ts, bundled as bench.js) and hands every message it posts to Node
 * (`benchMessage`, a function bench/browser.ts exposes to the page). `benchRun(task)` resolves when
 * the worker has finished (or failed).
 */
import type { PageMessage, PageTask } from './browser-bench.js';

const page = globalThis as unknown as {
  benchMessage(m: PageMessage | { type: 'fatal'; lib: string; message: string }): Promise<void>;
  benchRun(task: PageTask): Promise<void>;
};

page.benchRun = (task) => new Promise((done) => {
  const worker = new Worker(new URL('./bench.js', import.meta.url), { type: 'module', name: `bench-${task.lib}` });
  worker.onmessage = (e: MessageEvent<PageMessage>) => {
    void page.benchMessage(e.data);
    if (e.data.type === 'done' || e.data.type === 'fatal') done();
  };
  worker.onerror = (e) => {
    void page.benchMessage({ type: 'fatal', lib: task.lib, message: `worker error: ${e.message || 'the worker script did not load'}` });
    done();
  };
  worker.postMessage(task);
});

document.title = 'ready';
