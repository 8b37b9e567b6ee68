/** The two pieces every `forwardAsync` is made of: a turn of the event loop and the caller's grad mode. */
import { isGradEnabled, noGrad } from '../autograd/graph.js';

/**
 * Resolves after the event loop has had a turn: pending I/O, timers and (in a browser) input and
 * rendering run first. `setImmediate` in Node, a MessageChannel message elsewhere (not clamped like
 * `setTimeout`).
 */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
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
 * synchronous steps. An async forward calls it before its first `await`, so that
 * `noGrad(() => m.forwardAsync(x))` records nothing even though most of the work runs after
 * `noGrad` has returned.
 * @example const run = captureGradMode(); await yieldToEventLoop(); return run(() => relu(x));
 */
export function captureGradMode(): <T>(fn: () => T) => T {
  const grad = isGradEnabled();
  return (fn) => (grad ? fn() : noGrad(fn));
}
