/** The async form of the API: Promise-returning convolutions that never block the calling thread. */
export { conv1dAsync, conv2dAsync, conv3dAsync, convTranspose1dAsync, convTranspose2dAsync, convTranspose3dAsync, applyConvAsync } from './conv.js';
export { asyncStats, asyncThreads, stopAsyncDriver, type AsyncStats } from './driver.js';
