/** The worked examples of docs/behaviour.md, one click away. Each preset is a complete page state. */
import type { State } from './model.js';

export interface Preset {
  readonly id: string;
  readonly label: string;
  readonly note: string;
  readonly state: State;
}

const ex2 = (id: string, label: string, opts: Partial<State>): Preset => ({
  id, label,
  note: `Worked example 2 (docs/behaviour.md): PyTorch ConvTranspose2d(1, 1, 2, bias=False${label === 'stride 1' ? '' : `, ${label}`}), x = [[[[0, 1], [2, 3]]]], w = [[[[1.1, 2.2], [3.3, 4.4]]]]`,
  state: {
    api: 'torch', transposed: true, rank: 2, cIn: 1, cOut: 1, groups: 1, inSize: [2, 2], kSize: [2, 2],
    stride: '1', padding: '0', dilation: '1', outputPadding: '0', outputSize: '', bias: '', seed: 1,
    x: [0, 1, 2, 3], w: [1.1, 2.2, 3.3, 4.4], ...opts,
  },
});

export const PRESETS: readonly Preset[] = [
  ex2('ex2-stride1', 'stride 1', {}),
  ex2('ex2-stride12', 'stride (1, 2)', { stride: '1, 2' }),
  ex2('ex2-dilation2', 'dilation 2', { dilation: '2' }),
  ex2('ex2-padding1', 'padding 1', { padding: '1' }),
  ex2('ex2-stride2-op1', 'stride 2, output_padding 1', { stride: '2', outputPadding: '1' }),
  {
    id: 'ex1-paddle',
    label: 'Paddle Conv1DTranspose(2, 1, 2)',
    note: 'Worked example 1 (docs/behaviour.md): Paddle Conv1DTranspose(2, 1, 2), bias 0, x = [[[4, 0, 9, 7], [8, 0, 9, 2]]], w = [[[7, 0]], [[4, 2]]]',
    state: {
      api: 'paddle', transposed: true, rank: 1, cIn: 2, cOut: 1, groups: 1, inSize: [4], kSize: [2],
      stride: '1', padding: '0', dilation: '1', outputPadding: '0', outputSize: '', bias: '', seed: 1,
      x: [4, 0, 9, 7, 8, 0, 9, 2], w: [7, 0, 4, 2],
    },
  },
];
