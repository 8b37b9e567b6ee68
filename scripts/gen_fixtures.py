#!/usr/bin/python3
"""Records PyTorch's convolution results as convkit test fixtures.

Run with the interpreter that has PyTorch:  /usr/bin/python3 scripts/gen_fixtures.py
Writes test/cases/torch-<op>.json (forward + gradient cases) and test/cases/torch-errors.json.

Each case names its options in convkit's spelling (stride, padding, dilation, groups, paddingMode,
outputPadding, outputSize, dataFormat). Arrays are flat, row-major, in the case's layout:
  float32 values are written as the shortest decimal that reads back to the same float32;
  float64 values as Python's repr (round-trips exactly).
Inputs (x, w, b, gy) are rounded to 4 decimals before use so that the files stay small; PyTorch's
results (y, gx, gw, gb) are stored in full.

Forms PyTorch has no argument for are produced from PyTorch primitives:
  * asymmetric [before, after] padding for convolution: F.pad (with the padding mode) + conv, padding 0;
  * asymmetric padding for transposed convolution: a padding-0 transposed convolution, zero-extended by
    the output padding, then cropped [p0 : p0 + L_out];
  * channels-last layouts: PyTorch's channels-first tensors permuted (x, y, gy, gx).
Gradient cases (every float64 case, a few float32 ones) run y.backward(gy) through those same PyTorch graphs.
"""
import json
import os
import sys

# PyTorch's messages print Python sets; a fixed hash seed keeps their order (and the files) reproducible.
if os.environ.get('PYTHONHASHSEED') != '0':
    os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, 'PYTHONHASHSEED': '0'})

import numpy as np
import torch
import torch.nn.functional as F
import warnings

warnings.filterwarnings('ignore', category=UserWarning)

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, 'test', 'cases')
DTYPES = {'float32': torch.float32, 'float64': torch.float64}
FORMATS = {1: 'NLC', 2: 'NHWC', 3: 'NDHWC'}
# Every float64 case records gradients; these float32 cases do too (compared at a float32 tolerance).
GRAD_FLOAT32 = {'basic', 'reflect', 'circular-same-dilated', 'depthwise', 'asym-pairs', 'channels-last', 'unbatched',
                'stride-2-pad-1-outpad-1', 'output-size-spatial'}


# ---------------------------------------------------------------- value encoding

def f32_number(v):
    """Shortest decimal that reads back (via a double, as JS does) to the same float32."""
    v32 = np.float32(v)
    s = repr(float(np.format_float_positional(v32, unique=True, trim='-')))
    if np.float32(float(s)) != v32:
        s = repr(float(v32))
    return float(s)


def encode(t, dtype):
    """Tensor → {shape, data} with the values of the given dtype, exactly."""
    a = t.detach().contiguous().numpy().reshape(-1)
    if not np.all(np.isfinite(a)):
        raise ValueError('non-finite value in a fixture')
    if dtype == 'float32':
        data = [f32_number(v) for v in a]
    else:
        data = [float(v) for v in a]
    return {'shape': list(t.shape), 'data': data}


def rounded(gen, shape, dtype):
    """Standard-normal values rounded to 4 decimals (exact in float64; short in float32)."""
    v = torch.randn(*shape, generator=gen, dtype=torch.float64)
    return torch.round(v * 10000) / 10000


# ---------------------------------------------------------------- PyTorch reference

def tup(v, d):
    return tuple(v) if isinstance(v, (list, tuple)) else (v,) * d


def is_pairs(p):
    return isinstance(p, list) and len(p) > 0 and all(isinstance(e, list) for e in p)


def torch_pad_arg(pairs):
    """[[b1, a1], [b2, a2], …] (first spatial dim first) → F.pad's list (last dim first)."""
    out = []
    for b, a in reversed(pairs):
        out += [b, a]
    return out


def run_torch(op, x, w, b, opts):
    """y = op(x, w, b) in PyTorch, channels-first tensors; opts in convkit's spelling."""
    d = int(op[-2])
    transposed = op.startswith('convTranspose')
    stride = tup(opts.get('stride', 1), d)
    dilation = tup(opts.get('dilation', 1), d)
    groups = opts.get('groups', 1)
    padding = opts.get('padding', 0)
    mode = opts.get('paddingMode', 'zeros')
    cls = {(False, 1): torch.nn.Conv1d, (False, 2): torch.nn.Conv2d, (False, 3): torch.nn.Conv3d,
           (True, 1): torch.nn.ConvTranspose1d, (True, 2): torch.nn.ConvTranspose2d,
           (True, 3): torch.nn.ConvTranspose3d}[(transposed, d)]
    k = tuple(w.shape[2:])
    if not transposed:
        if is_pairs(padding):
            xp = F.pad(x, torch_pad_arg(padding), mode='constant' if mode == 'zeros' else mode)
            fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[d]
            return fn(xp, w, b, stride, 0, dilation, groups)
        c_in, c_out = w.shape[1] * groups, w.shape[0]
        m = cls(c_in, c_out, k, stride=stride, padding=padding if isinstance(padding, str) else tup(padding, d),
                dilation=dilation, groups=groups, bias=b is not None, padding_mode=mode, dtype=x.dtype)
        return functional_module(m, x, w, b)
    c_in, c_out = w.shape[0], w.shape[1] * groups
    out_pad = tup(opts.get('outputPadding', 0), d)
    if is_pairs(padding):
        # Padding-0 output, extended by the output padding, cropped to [p0, p0 + L_out).
        fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[d]
        full = fn(x, w, None, stride, 0, 0, groups, dilation)
        if 'outputSize' in opts:
            req = spatial_output_size(opts, d)
            mins = [full.shape[2 + a] - padding[a][0] - padding[a][1] for a in range(d)]
            out_pad = tuple(req[a] - mins[a] for a in range(d))
            for a in range(d):
                assert 0 <= out_pad[a] < max(stride[a], dilation[a])
        full = F.pad(full, torch_pad_arg([[0, out_pad[a]] for a in range(d)]))
        sl = [slice(None), slice(None)] + [slice(padding[a][0], full.shape[2 + a] - padding[a][1]) for a in range(d)]
        y = full[tuple(sl)]
        if b is not None:
            y = y + b.reshape((1, -1) + (1,) * d)
        return y
    m = cls(c_in, c_out, k, stride=stride, padding=tup(padding, d), output_padding=out_pad,
            dilation=dilation, groups=groups, bias=b is not None, padding_mode=mode, dtype=x.dtype)
    return functional_module(m, x, w, b, channels_first_output_size(opts, d) if 'outputSize' in opts else None)


def channels_first_output_size(opts, d):
    """convkit's outputSize (spatial, or the full shape in the case's layout) as PyTorch takes it."""
    size = list(opts['outputSize'])
    if len(size) > d and opts.get('dataFormat') is not None:
        return size[:-d - 1] + [size[-1]] + size[-d - 1:-1]
    return size


def spatial_output_size(opts, d):
    return channels_first_output_size(opts, d)[-d:]


def functional_module(m, x, w, b, output_size=None):
    """Runs module m with weight w and bias b (kept as the graph's leaves)."""
    del m.weight
    m.weight = w
    if b is not None:
        del m.bias
        m.bias = b
    if output_size is not None:
        return m(x, output_size=list(output_size))
    return m(x)


def to_last(t, d, batched):
    """Channels-first → channels-last permutation."""
    lead = 1 if batched else 0
    perm = list(range(lead)) + [lead + 1 + a for a in range(d)] + [lead]
    return t.permute(*perm).contiguous()


# ---------------------------------------------------------------- cases

class Recorder:
    def __init__(self):
        self.cases = {}
        self.errors = []
        self.seed = 1000
        self.names = set()

    def add(self, op, name, x_shape, w_shape, bias=True, grad=True, dtypes=('float32', 'float64'), **opts):
        """x_shape is channels-first (batched or not); with dataFormat set, the case stores channels-last."""
        d = int(op[-2])
        for dt in dtypes:
            self.seed += 1
            gen = torch.Generator().manual_seed(self.seed)
            tdt = DTYPES[dt]
            x = rounded(gen, x_shape, dt).to(tdt)
            w = rounded(gen, w_shape, dt).to(tdt)
            transposed = op.startswith('convTranspose')
            c_out = w_shape[1] * opts.get('groups', 1) if transposed else w_shape[0]
            b = rounded(gen, [c_out], dt).to(tdt) if bias else None
            with_grad = grad and (dt == 'float64' or name in GRAD_FLOAT32)
            for t in (x, w, b):
                if t is not None and with_grad:
                    t.requires_grad_(True)
            y = run_torch(op, x, w, b, opts)
            batched = len(x_shape) == d + 2
            last = opts.get('dataFormat') is not None
            conv = (lambda t: to_last(t, d, batched)) if last else (lambda t: t)
            full_name = f'{op}/{name}/{dt}'
            assert full_name not in self.names, full_name
            self.names.add(full_name)
            case = {'name': full_name, 'op': op, 'dtype': dt, 'options': opts,
                    'x': encode(conv(x), dt), 'w': encode(w, dt), 'b': encode(b, dt) if b is not None else None,
                    'y': encode(conv(y), dt)}
            if with_grad:
                gy = rounded(gen, list(y.shape), dt).to(tdt)
                y.backward(gy)
                case['gy'] = encode(conv(gy), dt)
                case['gx'] = encode(conv(x.grad), dt)
                case['gw'] = encode(w.grad, dt)
                case['gb'] = encode(b.grad, dt) if b is not None else None
            self.cases.setdefault(op, []).append(case)

    def error(self, op, name, param, x_shape, w_shape, b_shape=None, dtypes=('float64', 'float64', 'float64'), module=False, **opts):
        """A call PyTorch rejects; `param` is the parameter convkit's ConvError must name."""
        d = int(op[-2])
        transposed = op.startswith('convTranspose')
        x = torch.zeros(*x_shape, dtype=DTYPES[dtypes[0]])
        w = torch.zeros(*w_shape, dtype=DTYPES[dtypes[1]])
        b = torch.zeros(*b_shape, dtype=DTYPES[dtypes[2]]) if b_shape is not None else None
        try:
            if module:
                y = run_torch(op, x, w, b, opts)
            else:
                stride = opts.get('stride', 1)
                padding = opts.get('padding', 0)
                dilation = opts.get('dilation', 1)
                groups = opts.get('groups', 1)
                if transposed:
                    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[d]
                    y = fn(x, w, b, stride, padding, opts.get('outputPadding', 0), groups, dilation)
                else:
                    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[d]
                    y = fn(x, w, b, stride, padding, dilation, groups)
        except Exception as e:  # PyTorch raised: record its message
            message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            self.errors.append({'name': f'{op}/{name}', 'op': op, 'param': param,
                                'x': {'shape': list(x_shape), 'dtype': dtypes[0]},
                                'w': {'shape': list(w_shape), 'dtype': dtypes[1]},
                                'b': {'shape': list(b_shape), 'dtype': dtypes[2]} if b_shape is not None else None,
                                'options': opts, 'torchRaised': True,
                                'torchError': type(e).__name__, 'torchMessage': message[:300]})
            return
        raise AssertionError(f'PyTorch accepted {op}/{name}: output shape {tuple(y.shape)}')


def sweep_conv(r, d):
    op = f'conv{d}d'
    # spatial sizes and kernels per rank (non-square where d > 1)
    S = {1: [7], 2: [5, 6], 3: [3, 3, 4]}[d]
    K = {1: [3], 2: [2, 3], 3: [2, 1, 3]}[d]
    K4 = {1: [4], 2: [4, 2], 3: [2, 2, 4]}[d]
    n = 2 if d < 3 else 1
    sh = lambda n_, c, s: [n_, c] + list(s)
    r.add(op, 'basic', sh(n, 3, S), [4, 3] + K)
    r.add(op, 'no-bias', sh(n, 3, S), [4, 3] + K, bias=False)
    r.add(op, 'padding-int', sh(n, 2, S), [3, 2] + K, padding=1)
    r.add(op, 'padding-per-dim', sh(1, 2, S), [3, 2] + K, padding=[a % 3 for a in range(1, d + 1)])
    r.add(op, 'padding-valid', sh(1, 2, S), [3, 2] + K, padding='valid')
    r.add(op, 'same-odd', sh(1, 2, S), [3, 2] + [3] * d, padding='same')
    r.add(op, 'same-even', sh(1, 2, S), [2, 2] + K4, padding='same')
    r.add(op, 'same-even-dilated', sh(1, 2, S), [2, 2] + K4, padding='same', dilation=[2] + [1] * (d - 1))
    r.add(op, 'same-dilation-3', sh(1, 2, [s + 2 for s in S]), [2, 2] + [2] * d, padding='same', dilation=3)
    r.add(op, 'asym-pairs', sh(1, 2, S), [3, 2] + K, padding=[[1, 2], [0, 1], [2, 0]][:d])
    r.add(op, 'asym-pairs-stride', sh(2, 2, S), [2, 2] + K, padding=[[0, 3], [2, 1], [1, 1]][:d], stride=2)
    r.add(op, 'stride-2-pad-1', sh(n, 2, [s + 1 for s in S]), [3, 2] + K, stride=2, padding=1)
    r.add(op, 'stride-per-dim', sh(1, 2, [s + 2 for s in S]), [2, 2] + K, stride=[1, 2, 3][:d], padding=[1, 0, 1][:d])
    r.add(op, 'dilation-2', sh(1, 2, [s + 2 for s in S]), [3, 2] + K, dilation=2, padding=2)
    r.add(op, 'dilation-per-dim', sh(1, 2, [s + 3 for s in S]), [2, 2] + K, dilation=[2, 3, 1][:d])
    r.add(op, 'stride-gt-kernel', sh(1, 2, [s + 4 for s in S]), [2, 2] + [2] * d, stride=3)
    r.add(op, 'stride-5-pad-2', sh(1, 1, [11] * d if d < 3 else [7, 6, 7]), [2, 1] + [3] * d, stride=5, padding=2)
    r.add(op, 'groups-3', sh(n, 6, S), [6, 2] + K, groups=3)
    r.add(op, 'groups-2-c-out-4', sh(1, 4, S), [4, 2] + K, groups=2, padding=1)
    r.add(op, 'depthwise', sh(n, 4, S), [4, 1] + K, groups=4, padding=1)
    r.add(op, 'depth-multiplier-2', sh(1, 3, S), [6, 1] + K, groups=3)
    r.add(op, 'depth-multiplier-3-strided', sh(1, 2, [s + 1 for s in S]), [6, 1] + K, groups=2, stride=2, padding=1)
    r.add(op, 'mixed', sh(n, 4, [s + 3 for s in S]), [4, 2] + K, groups=2, stride=2, dilation=2, padding=1, bias=False)
    for mode in ('reflect', 'replicate', 'circular'):
        r.add(op, f'{mode}', sh(1, 2, S), [3, 2] + K, padding=2, paddingMode=mode)
        r.add(op, f'{mode}-same-even', sh(1, 2, S), [2, 2] + K4, padding='same', paddingMode=mode)
        r.add(op, f'{mode}-same-dilated', sh(1, 2, [s + 2 for s in S]), [2, 2] + K, padding='same', dilation=2, paddingMode=mode)
        r.add(op, f'{mode}-asym-pairs', sh(1, 2, S), [2, 2] + K, padding=[[2, 1], [0, 2], [1, 0]][:d], paddingMode=mode)
        r.add(op, f'{mode}-stride-groups', sh(2, 4, S), [4, 2] + K, padding=1, stride=2, groups=2, paddingMode=mode)
    r.add(op, 'reflect-max-pad', sh(1, 1, [3] * d), [2, 1] + [2] * d, padding=2, paddingMode='reflect')
    r.add(op, 'circular-pad-eq-size', sh(1, 1, [3] * d), [2, 1] + [3] * d, padding=3, paddingMode='circular')
    r.add(op, 'replicate-wide-pad', sh(1, 1, [2] * d), [1, 1] + [2] * d, padding=3, paddingMode='replicate')
    r.add(op, 'unbatched', [3] + S, [4, 3] + K, padding=1)
    r.add(op, 'unbatched-reflect', [2] + S, [2, 2] + K, padding='same', paddingMode='reflect')
    r.add(op, 'channels-last', sh(2, 3, S), [4, 3] + K, padding=1, dataFormat=FORMATS[d])
    r.add(op, 'channels-last-groups-stride', sh(1, 4, [s + 1 for s in S]), [6, 2] + K, groups=2, stride=2, dataFormat=FORMATS[d])
    r.add(op, 'channels-last-circular', sh(1, 2, S), [2, 2] + K, padding=1, paddingMode='circular', dataFormat=FORMATS[d])
    r.add(op, 'channels-last-unbatched', [2] + S, [3, 2] + K, padding='same', dataFormat=FORMATS[d])
    r.add(op, 'output-1', sh(2, 2, S), [3, 2] + S)
    r.add(op, 'output-1-strided', sh(1, 2, [6] * d), [2, 2] + [3] * d, stride=4)
    r.add(op, 'kernel-fills-padded-input', sh(1, 2, [4] * d), [2, 2] + [6] * d, padding=1)
    r.add(op, 'kernel-fills-dilated', sh(1, 1, [5] * d), [2, 1] + [3] * d, dilation=2)
    r.add(op, 'kernel-1', sh(2, 3, S), [2, 3] + [1] * d)
    r.add(op, 'same-kernel-1', sh(1, 3, S), [2, 3] + [1] * d, padding='same', paddingMode='reflect')
    r.add(op, 'padding-exceeds-kernel', sh(1, 2, S), [2, 2] + K, padding=3)
    r.add(op, 'reflect-per-dim-with-zero', sh(1, 2, S), [2, 2] + K, padding=[1, 0, 2][:d] if d > 1 else [0], paddingMode='reflect')
    r.add(op, 'circular-valid', sh(1, 2, S), [2, 2] + K, padding='valid', paddingMode='circular')
    r.add(op, 'single-channel', sh(1, 1, S), [1, 1] + K, padding=1)


def sweep_conv_transpose(r, d):
    op = f'convTranspose{d}d'
    S = {1: [5], 2: [3, 4], 3: [2, 3, 2]}[d]
    K = {1: [3], 2: [2, 3], 3: [2, 1, 3]}[d]
    n = 2 if d < 3 else 1
    sh = lambda n_, c, s: [n_, c] + list(s)
    r.add(op, 'basic', sh(n, 3, S), [3, 4] + K)
    r.add(op, 'no-bias', sh(n, 3, S), [3, 2] + K, bias=False)
    r.add(op, 'stride-2', sh(n, 2, S), [2, 3] + K, stride=2)
    r.add(op, 'stride-2-pad-1-outpad-1', sh(1, 2, S), [2, 3] + [3] * d, stride=2, padding=1, outputPadding=1)
    r.add(op, 'stride-per-dim', sh(1, 2, S), [2, 2] + K, stride=[2, 1, 3][:d], outputPadding=[1, 0, 2][:d])
    r.add(op, 'padding-int', sh(1, 2, S), [2, 3] + [3] * d, padding=1)
    r.add(op, 'padding-per-dim', sh(1, 2, S), [2, 2] + [3] * d, padding=[1, 0, 2][:d], stride=2)
    r.add(op, 'dilation-2', sh(1, 2, S), [2, 2] + K, dilation=2)
    r.add(op, 'dilation-outpad', sh(1, 2, S), [2, 2] + K, dilation=3, outputPadding=2)
    r.add(op, 'dilation-stride-pad', sh(n, 2, S), [2, 3] + [3] * d, dilation=2, stride=2, padding=2, outputPadding=1)
    r.add(op, 'stride-gt-kernel', sh(1, 2, S), [2, 2] + [2] * d, stride=3)
    r.add(op, 'stride-gt-kernel-outpad', sh(1, 2, S), [2, 2] + [2] * d, stride=4, outputPadding=3, padding=1)
    r.add(op, 'groups-2', sh(n, 4, S), [4, 3] + K, groups=2)
    r.add(op, 'groups-2-strided', sh(1, 4, S), [4, 1] + K, groups=2, stride=2, padding=1)
    r.add(op, 'depthwise', sh(n, 3, S), [3, 1] + K, groups=3, padding=1)
    r.add(op, 'depth-multiplier-2', sh(1, 3, S), [3, 2] + K, groups=3, stride=2)
    r.add(op, 'asym-pairs', sh(1, 2, S), [2, 3] + [3] * d, padding=[[1, 2], [0, 1], [2, 0]][:d])
    r.add(op, 'asym-pairs-stride-outpad', sh(2, 2, S), [2, 2] + [3] * d, padding=[[0, 2], [1, 0], [2, 1]][:d], stride=2, outputPadding=1)
    r.add(op, 'asym-pairs-groups-dilation', sh(1, 4, S), [4, 1] + K, padding=[[2, 1], [1, 1], [0, 1]][:d], groups=2, dilation=2)
    out_sizes = lambda extra: [(s - 1) * 2 - 2 + 3 + e for s, e in zip(S, extra)]
    r.add(op, 'output-size-spatial', sh(1, 2, S), [2, 2] + [3] * d, stride=2, padding=1, outputSize=out_sizes([1, 0, 1][:d]))
    r.add(op, 'output-size-min', sh(1, 2, S), [2, 2] + [3] * d, stride=2, padding=1, outputSize=out_sizes([0] * d))
    r.add(op, 'output-size-full-shape', sh(2, 2, S), [2, 3] + [3] * d, stride=2, padding=1, outputSize=[2, 3] + out_sizes([1, 1, 0][:d]))
    r.add(op, 'output-size-stride-3', sh(1, 2, S), [2, 2] + [3] * d, stride=3, padding=1,
          outputSize=[(s - 1) * 3 - 2 + 3 + 2 for s in S])
    r.add(op, 'output-size-unbatched-full', [2] + S, [2, 2] + [3] * d, stride=2, padding=1, outputSize=[2] + out_sizes([1] * d))
    r.add(op, 'unbatched', [3] + S, [3, 2] + K, stride=2, padding=1)
    r.add(op, 'asym-pairs-output-size', sh(1, 2, S), [2, 2] + [3] * d, padding=[[1, 0], [0, 2], [2, 1]][:d], stride=2,
          outputSize=[(s - 1) * 2 - sum(p) + 3 + 1 for s, p in zip(S, [[1, 0], [0, 2], [2, 1]])])
    r.add(op, 'channels-last-output-size-full', sh(2, 2, S), [2, 3] + [3] * d, stride=3, padding=1,
          outputSize=[2] + [(s - 1) * 3 - 2 + 3 + 2 for s in S] + [3], dataFormat=FORMATS[d])
    r.add(op, 'channels-last', sh(2, 3, S), [3, 2] + K, stride=2, padding=1, outputPadding=1, dataFormat=FORMATS[d])
    r.add(op, 'channels-last-groups', sh(1, 4, S), [4, 2] + K, groups=2, dilation=2, dataFormat=FORMATS[d])
    r.add(op, 'channels-last-output-size', sh(1, 2, S), [2, 2] + [3] * d, stride=2, padding=1, outputSize=out_sizes([1] * d), dataFormat=FORMATS[d])
    r.add(op, 'channels-last-unbatched', [2] + S, [2, 3] + K, stride=2, dataFormat=FORMATS[d])
    r.add(op, 'output-1', sh(2, 2, [1] * d), [2, 3] + [1] * d)
    r.add(op, 'output-1-cropped', sh(1, 2, [2] * d), [2, 2] + [2] * d, padding=1)
    r.add(op, 'input-1', sh(1, 3, [1] * d), [3, 2] + K, stride=2)
    r.add(op, 'large-kernel', sh(1, 2, [2] * d), [2, 2] + [5] * d, padding=1)
    r.add(op, 'kernel-1-strided', sh(1, 2, S), [2, 2] + [1] * d, stride=2)
    r.add(op, 'single-channel', sh(1, 1, S), [1, 1] + K, stride=2)


def sweep_errors(r):
    e = r.error
    # channels and groups
    e('conv1d', 'channels-mismatch', 'input', [1, 3, 5], [4, 2, 3])
    e('conv2d', 'channels-mismatch', 'input', [1, 3, 5, 5], [4, 2, 3, 3])
    e('conv3d', 'channels-mismatch', 'input', [1, 2, 4, 4, 4], [4, 3, 2, 2, 2])
    e('conv2d', 'groups-mismatch-input', 'input', [1, 4, 5, 5], [6, 1, 3, 3], groups=3)
    e('conv2d', 'groups-not-dividing-out', 'groups', [1, 3, 5, 5], [4, 1, 3, 3], groups=3)
    e('conv1d', 'groups-not-dividing-out', 'groups', [1, 6, 5], [5, 2, 3], groups=3)
    e('conv2d', 'groups-zero', 'groups', [1, 3, 5, 5], [4, 3, 3, 3], groups=0)
    e('convTranspose2d', 'channels-mismatch', 'input', [1, 3, 4, 4], [2, 2, 3, 3])
    e('convTranspose1d', 'channels-mismatch', 'input', [1, 3, 4], [2, 2, 3])
    e('convTranspose3d', 'channels-mismatch', 'input', [1, 3, 2, 2, 2], [4, 2, 2, 2, 2])
    e('convTranspose1d', 'groups-not-dividing-in', 'groups', [1, 3, 4], [3, 2, 3], groups=2)
    e('convTranspose2d', 'groups-zero', 'groups', [1, 2, 4, 4], [2, 2, 3, 3], groups=0)
    # non-positive stride / dilation, negative padding
    e('conv1d', 'stride-zero', 'stride', [1, 2, 5], [2, 2, 3], stride=0)
    e('conv2d', 'stride-negative', 'stride', [1, 2, 5, 5], [2, 2, 3, 3], stride=[1, -1])
    e('conv3d', 'stride-zero', 'stride', [1, 2, 4, 4, 4], [2, 2, 2, 2, 2], stride=[1, 0, 1])
    e('conv1d', 'dilation-zero', 'dilation', [1, 2, 5], [2, 2, 3], dilation=0)
    e('conv2d', 'dilation-negative', 'dilation', [1, 2, 5, 5], [2, 2, 3, 3], dilation=[-1, 1])
    e('conv1d', 'padding-negative', 'padding', [1, 2, 5], [2, 2, 3], padding=-1)
    e('conv2d', 'padding-negative', 'padding', [1, 2, 5, 5], [2, 2, 3, 3], padding=[0, -2])
    e('convTranspose1d', 'stride-zero', 'stride', [1, 2, 5], [2, 2, 3], stride=0)
    e('convTranspose2d', 'dilation-zero', 'dilation', [1, 2, 4, 4], [2, 2, 3, 3], dilation=0)
    e('convTranspose1d', 'padding-negative', 'padding', [1, 2, 5], [2, 2, 3], padding=-1)
    e('convTranspose2d', 'output-padding-negative', 'outputPadding', [1, 2, 4, 4], [2, 2, 3, 3], stride=2, outputPadding=[-1, 0])
    # output too small
    e('conv1d', 'kernel-larger-than-input', 'input', [1, 2, 3], [2, 2, 5])
    e('conv2d', 'kernel-larger-than-padded-input', 'input', [1, 2, 3, 4], [2, 2, 6, 3], padding=1)
    e('conv3d', 'dilated-kernel-larger', 'input', [1, 1, 4, 4, 4], [1, 1, 3, 3, 3], dilation=2)
    e('conv2d', 'dilated-kernel-larger', 'input', [1, 1, 4, 5], [1, 1, 3, 2], dilation=[2, 1])
    e('convTranspose1d', 'padding-crops-output', 'input', [1, 2, 1], [2, 2, 1], padding=1)
    e('convTranspose2d', 'padding-crops-output', 'input', [1, 2, 2, 2], [2, 2, 2, 2], padding=[2, 0])
    # 'same' and padding strings
    e('conv1d', 'same-strided', 'padding', [1, 2, 6], [2, 2, 3], module=True, padding='same', stride=2)
    e('conv2d', 'same-strided', 'padding', [1, 2, 6, 6], [2, 2, 3, 3], module=True, padding='same', stride=[1, 2])
    e('conv1d', 'padding-string-unknown', 'padding', [1, 2, 6], [2, 2, 3], module=True, padding='full')
    # transposed: output padding, output size, padding mode
    e('convTranspose1d', 'output-padding-too-large', 'outputPadding', [1, 2, 4], [2, 2, 3], stride=2, outputPadding=2)
    e('convTranspose2d', 'output-padding-eq-stride', 'outputPadding', [1, 2, 4, 4], [2, 2, 3, 3], stride=[2, 1], outputPadding=[1, 1])
    e('convTranspose3d', 'output-padding-no-stride', 'outputPadding', [1, 2, 2, 2, 2], [2, 2, 2, 2, 2], outputPadding=1)
    e('convTranspose1d', 'output-size-too-large', 'outputSize', [1, 2, 4], [2, 2, 3], module=True, stride=2, padding=1, outputSize=[9])
    e('convTranspose1d', 'output-size-too-small', 'outputSize', [1, 2, 4], [2, 2, 3], module=True, stride=2, padding=1, outputSize=[6])
    e('convTranspose2d', 'output-size-out-of-range', 'outputSize', [1, 2, 3, 3], [2, 2, 3, 3], module=True, stride=2, outputSize=[7, 9])
    e('convTranspose2d', 'output-size-wrong-length', 'outputSize', [1, 2, 3, 3], [2, 2, 3, 3], module=True, stride=2, outputSize=[2, 7, 7])
    e('convTranspose3d', 'output-size-wrong-length', 'outputSize', [1, 2, 2, 2, 2], [2, 2, 2, 2, 2], module=True, stride=2, outputSize=[4, 4])
    e('convTranspose2d', 'padding-mode-reflect', 'paddingMode', [1, 2, 3, 3], [2, 2, 3, 3], module=True, paddingMode='reflect')
    e('convTranspose1d', 'padding-mode-circular', 'paddingMode', [1, 2, 3], [2, 2, 3], module=True, paddingMode='circular')
    # padding modes beyond the input
    e('conv1d', 'reflect-pad-eq-size', 'padding', [1, 2, 3], [2, 2, 3], module=True, padding=3, paddingMode='reflect')
    e('conv2d', 'reflect-pad-too-large', 'padding', [1, 2, 2, 5], [2, 2, 3, 3], module=True, padding=2, paddingMode='reflect')
    e('conv1d', 'circular-pad-too-large', 'padding', [1, 2, 3], [2, 2, 3], module=True, padding=4, paddingMode='circular')
    # ranks, shapes, dtypes
    e('conv2d', 'input-rank-2', 'input', [3, 5], [4, 3, 3, 3])
    e('conv1d', 'input-rank-4', 'input', [1, 2, 3, 5], [4, 2, 3])
    e('conv3d', 'input-rank-3', 'input', [2, 4, 4], [2, 2, 2, 2, 2])
    e('convTranspose2d', 'input-rank-5', 'input', [1, 1, 2, 3, 3], [2, 2, 3, 3])
    e('conv2d', 'weight-rank-3', 'weight', [1, 3, 5, 5], [4, 3, 3])
    e('convTranspose1d', 'weight-rank-4', 'weight', [1, 2, 5], [2, 2, 3, 3])
    e('conv2d', 'bias-wrong-size', 'bias', [1, 3, 5, 5], [4, 3, 3, 3], [5])
    e('conv1d', 'bias-wrong-rank', 'bias', [1, 3, 5], [4, 3, 3], [1, 4])
    e('convTranspose2d', 'bias-wrong-size', 'bias', [1, 2, 3, 3], [2, 3, 3, 3], [2])
    e('conv2d', 'weight-dtype', 'weight', [1, 3, 5, 5], [4, 3, 3, 3], [4], dtypes=('float32', 'float64', 'float32'))
    e('convTranspose1d', 'weight-dtype', 'weight', [1, 2, 5], [2, 2, 3], None, dtypes=('float64', 'float32', 'float64'))


def write(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')
    return os.path.getsize(path)


def main():
    r = Recorder()
    for d in (1, 2, 3):
        sweep_conv(r, d)
    for d in (1, 2, 3):
        sweep_conv_transpose(r, d)
    sweep_errors(r)
    os.makedirs(OUT_DIR, exist_ok=True)
    total = 0
    header = {'generator': 'scripts/gen_fixtures.py', 'torch': torch.__version__}
    print(f'{"file":34} {"forward":>8} {"gradient":>9} {"bytes":>9}')
    n_fwd = n_grad = 0
    for op, cases in r.cases.items():
        file_op = op.replace('convTranspose', 'conv-transpose')
        size = write(os.path.join(OUT_DIR, f'torch-{file_op}.json'), {**header, 'cases': cases})
        grads = sum(1 for c in cases if 'gx' in c)
        n_fwd += len(cases)
        n_grad += grads
        total += size
        print(f'torch-{file_op}.json'.ljust(34), f'{len(cases):8d} {grads:9d} {size:9d}')
    size = write(os.path.join(OUT_DIR, 'torch-errors.json'), {**header, 'cases': r.errors})
    total += size
    print('torch-errors.json'.ljust(34), f'{len(r.errors):8d} {"errors":>9} {size:9d}')
    print(f'total: {n_fwd} forward cases ({n_grad} with gradients), {len(r.errors)} error cases, {total} bytes')


if __name__ == '__main__':
    sys.exit(main())
