/** Streaming: exact chunk-by-chunk 1-D convolutions and the modules built from them (docs/streaming.md). */
export type { Stream } from './types.js';
export { conv1dStream, convTranspose1dStream, paddleConv1dStream, paddleConv1dTransposeStream, type ConvTransposeStreamOptions, type PaddleConvTransposeStreamOptions } from './functional.js';
export { registerPointwiseStream } from './modules.js';
export { parallelStream, pointwiseStream, residualStream, sequentialStream, type ParallelStreamOptions } from './build.js';
