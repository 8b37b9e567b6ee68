/**
 * The built-in backends, registered with plan/select.ts: the reference ('ref'), plain TypeScript
 * ('js') and WebAssembly SIMD with its worker threads ('wasm'). Importing this file is what makes
 * them available; functional/ does, so every entry point has them.
 */
import { registerBackend } from './plan/select.js';
import { refBackend } from './kernels/ref/backend.js';
import { jsBackend } from './kernels/cpu/backend.js';
import { wasmBackend } from './kernels/wasm/backend.js';

for (const b of [refBackend, jsBackend, wasmBackend]) registerBackend(b);
