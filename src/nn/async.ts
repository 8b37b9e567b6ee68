/**
 * What every `forwardAsync` is made of: turns of the event loop between steps, and the grad mode of
 * the call carried across its awaits.
 */
import { isGradEnabled, noGrad } from '../autograd/graph.js';

/**
 * Resolves after the event loop has had a turn: pending I/O, timers and (in a browser) input and
 * rendering run first. `setImmediate` in Node, a MessageChannel message elsewhere (not clamped like
 * `setTimeout`).
 */
export function yieldToEventLoop(): Promise<void> {
  // Looked up on globalThis, so that builds typed for browsers only (web/tsconfig.json) compile too.
  const immediate = (globalThis as { setImmediate?: (run: () => void) => unknown }).setImmediate;
  if (typeof immediate === 'function') return new Promise((resolve) => immediate(() => resolve()));
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

/**
 * Captures whether autograd records now and returns a runner that applies that mode to later
 * steps. An async forward calls it before its first `await`, so that
 * `noGrad(() => m.forwardAsync(x))` records nothing even though most of the work runs after
 * `noGrad` has returned.
 */
export function captureGradMode(): <T>(fn: () => T) => T {
  const grad = isGradEnabled();
  return (fn) => (grad ? fn() : noGrad(fn));
}

/**
 * The building block of a custom `forwardAsync`. Call it before the first `await`; it returns
 * `step(fn)`, which runs `fn` (a child's `forwardAsync`, or any synchronous op) under the grad mode
 * captured then, awaits its result, and gives the event loop a turn before resolving. A forward
 * written as a chain of steps therefore never holds the thread for longer than one step.
 * @example
 * override async forwardAsync(x: Tensor): Promise<Tensor> {
 *   const step = asyncSteps();
 *   const h = await step(() => this.conv.forwardAsync(x));
 *   return step(() => relu(h));
 * }
 */
export function asyncSteps(): <T>(fn: () => T | Promise<T>) => Promise<T> {
  const run = captureGradMode();
  return async (fn) => {
    const v = await run(fn);
    await yieldToEventLoop();
    return v;
  };
}
