/**
 * convkit: convolution and transposed convolution (1-D, 2-D, 3-D) exactly as PyTorch and Paddle
 * compute them, forward and backward, in Node.js and browsers.
 */
export { Tensor, tensor, zeros, ones, full, randn, rand, type TypedArray, type NestedArray, type TensorOptions, type RandomOptions } from './autograd/tensor.js';
export { backward, noGrad, isGradEnabled } from './autograd/graph.js';
export type { BackwardOptions } from './autograd/tensor.js';
export { ConvError } from './spec/errors.js';
export type { DType, Pair, Layout, PaddingMode, ConvSpec, Geometry } from './spec/types.js';
export type { ConvOptions, ConvTransposeOptions, PaddingArg, IntOrTuple, DataFormat } from './spec/normalize.js';
export { span, convOutSize, convTransposeOutSize, outputSizeRange, torchSamePads, paddleSamePads } from './spec/shape-checked.js';
export { conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, convTranspose3d } from './functional/conv.js';
export { permute } from './functional/permute.js';
export { pad, type PadMode } from './functional/pad.js';
export type { EpilogueOptions } from './functional/apply.js';
export type { Activation } from './kernels/types.js';
export { describeConv, type ConvDescription, type ConvOpName } from './functional/describe.js';
export { scatterTaps, windowTaps, fullOutSize, stepOutSize, fullCellKind, type StepGeometry, type ScatterTap, type WindowTap } from './explain/steps.js';
export { Module } from './nn/module.js';
export { Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, type ConvModuleOptions, type ConvTransposeModuleOptions } from './nn/conv.js';
export { Conv1D, Conv2D, Conv3D, Conv1DTranspose, Conv2DTranspose, Conv3DTranspose, type PaddlePadding } from './api/paddle.js';
export * as paddle from './api/paddle.js';
export { setBackend, getBackend, withBackend, backends } from './plan/select.js';
export { manualSeed, Generator } from './util/random.js';
export { add, sub, mul, reshape, relu, leakyRelu, tanh, sigmoid, sum, mean, mseLoss, l1Loss, broadcastShapes, type Operand, type Reduction } from './autograd/ops.js';
export { type StateDict, type LoadStateDictOptions, type LoadStateDictResult } from './nn/module.js';
export { Sequential, ReLU, LeakyReLU, Tanh, Sigmoid } from './nn/sequential.js';
export { Optimizer, SGD, Adam, type SGDOptions, type AdamOptions } from './optim/index.js';
export { setNumThreads, getNumThreads, threadsReady } from './kernels/threads/pool.js';
export { wasmStats, type WasmStats } from './kernels/threads/pool.js';
export { setWeightCacheBytes } from './kernels/wasm/glue.js';
export type { WeightCacheStats } from './kernels/wasm/weight-cache.js';
export { readNpy, writeNpy, readNpyHeader, readNpz, writeNpz, readSafetensors, readSafetensorsHeader, writeSafetensors, foldWeightNorm, weightNormWeight, loadSafetensorsStateDict, halfToFloat, bfloatToFloat, type ReadOptions, type NpyHeader, type NpzReadOptions, type NpzWriteOptions, type SafetensorsFile, type SafetensorsHeader, type SafetensorsEntry, type LoadSafetensorsOptions } from './io/index.js';
export { conv1dAsync, conv2dAsync, conv3dAsync, convTranspose1dAsync, convTranspose2dAsync, convTranspose3dAsync, asyncStats, asyncThreads, type AsyncStats } from './async/index.js';
export { cat, narrow, slice, div } from './autograd/shape-ops.js';
export { batchNorm, type BatchNormOptions } from './autograd/batch-norm.js';
export { ModuleList } from './nn/module-list.js';
export { Identity } from './nn/identity.js';
export { BatchNorm1d, BatchNorm2d, BatchNorm3d, foldBatchNorm, type BatchNorm, type BatchNormModuleOptions } from './nn/batchnorm.js';
export { yieldToEventLoop, asyncSteps } from './nn/async.js';
export { Residual, Parallel, type ParallelOptions } from './nn/residual.js';
export { conv1dStream, convTranspose1dStream, paddleConv1dStream, paddleConv1dTransposeStream, registerPointwiseStream, type Stream, type ConvTransposeStreamOptions, type PaddleConvTransposeStreamOptions } from './stream/index.js';
export { parallelStream, pointwiseStream, residualStream, sequentialStream, type ParallelStreamOptions } from './stream/index.js';
export { webgpuAvailable, webgpuInfo, setReadTimeout, type InitWebGPUOptions, type WebGPUInfo } from './kernels/webgpu/device.js';
export { initWebGPU } from './autograd/gpu-ops.js';
export { type Device, type DeviceStorage } from './autograd/tensor.js';
export { profile, formatProfile, OP_KINDS, type Profile, type ProfileOptions, type ModuleProfile, type OpKind } from './profile/profile.js';
export { relaxedSimdSupported } from './kernels/wasm/glue.js';
