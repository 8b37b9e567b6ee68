/**
 * The explainer page: controls → State → convkit (through model.ts) → DOM. The page only calls
 * convkit's public API; everything is recomputed on every change, which is instant at these sizes.
 */
import { ConvError } from 'convkit';
import { compute, inputShape, num, resize, seededValues, weightShape, type Grid, type Outcome, type State } from './model.js';
import { PRESETS } from './presets.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
};
const h = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
};
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const intOf = (id: string, lo: number, hi: number, dflt: number) => {
  const v = Math.round(Number($<HTMLInputElement>(id).value));
  return Number.isFinite(v) && $<HTMLInputElement>(id).value !== '' ? clamp(v, lo, hi) : dflt;
};

let state: State = structuredClone(PRESETS[0].state);
let stepIndex = 0;
let outcome: Outcome | null = null;

const TEXT_FIELDS = [['stride', 'stride'], ['padding', 'padding'], ['dilation', 'dilation'],
  ['output-padding', 'outputPadding'], ['output-size', 'outputSize'], ['bias', 'bias']] as const;

// ---------------------------------------------------------------------------------------------
// State ↔ controls

function writeControls(): void {
  $<HTMLSelectElement>('api').value = state.api;
  $<HTMLSelectElement>('op').value = state.transposed ? 'convT' : 'conv';
  $<HTMLSelectElement>('rank').value = String(state.rank);
  $<HTMLInputElement>('c-in').value = String(state.cIn);
  $<HTMLInputElement>('c-out').value = String(state.cOut);
  $<HTMLInputElement>('groups').value = String(state.groups);
  const two = (v: number[]) => (state.rank === 1 ? [1, v[0]] : v);
  two(state.inSize).forEach((v, a) => ($<HTMLInputElement>(`in-size-${a}`).value = String(v)));
  two(state.kSize).forEach((v, a) => ($<HTMLInputElement>(`k-size-${a}`).value = String(v)));
  for (const [id, key] of TEXT_FIELDS) $<HTMLInputElement>(id).value = state[key];
  $<HTMLInputElement>('seed').value = String(state.seed);
  syncVisibility();
}

function syncVisibility(): void {
  const one = state.rank === 1;
  document.querySelectorAll<HTMLElement>('.dim1').forEach((el) => (el.hidden = one));
  document.querySelectorAll<HTMLElement>('.convt-only').forEach((el) => (el.hidden = !state.transposed));
  $('in-size-1-label').textContent = one ? 'Input length' : 'Input width';
  $('k-size-1-label').textContent = one ? 'Kernel length' : 'Kernel width';
  $('equiv').hidden = !state.transposed;
}

/** Reads the structural controls; values survive where their index does, new cells get seeded values. */
function readStructure(): void {
  const oldX = inputShape(state), oldW = weightShape(state);
  const rank = Number($<HTMLSelectElement>('rank').value) === 1 ? 1 : 2;
  const wasRank = state.rank;
  state.api = $<HTMLSelectElement>('api').value === 'paddle' ? 'paddle' : 'torch';
  state.transposed = $<HTMLSelectElement>('op').value === 'convT';
  state.rank = rank;
  state.cIn = intOf('c-in', 1, 4, 1);
  state.cOut = intOf('c-out', 1, 4, 1);
  state.groups = intOf('groups', 1, 4, 1);
  const size = (p: string, hi: number, d: number) => [intOf(`${p}-0`, 1, hi, d), intOf(`${p}-1`, 1, hi, d)];
  const inSize = size('in-size', 12, 3), kSize = size('k-size', 6, 2);
  state.inSize = rank === 1 ? [inSize[1]] : inSize;
  state.kSize = rank === 1 ? [kSize[1]] : kSize;
  if (wasRank !== rank) {
    // Keep the user's per-dim text valid for the new rank where it is a single number.
    for (const [, key] of TEXT_FIELDS) if (key !== 'bias' && /,/.test(state[key])) state[key] = key === 'outputSize' ? '' : state[key].split(/[\s,]+/)[0] ?? '';
  }
  const newX = inputShape(state), newW = weightShape(state);
  state.x = resize(state.x, oldX, newX, seededValues(newX.reduce((p, v) => p * v, 1), state.seed, 0, 4));
  state.w = resize(state.w, oldW, newW, seededValues(newW.reduce((p, v) => p * v, 1), state.seed + 1, -1, 2));
  writeControls();
}

function readOptions(): void {
  for (const [id, key] of TEXT_FIELDS) state[key] = $<HTMLInputElement>(id).value;
}

// ---------------------------------------------------------------------------------------------
// Grids

function gridTable(grid: Grid, role: string, axes = false): HTMLElement {
  const wrap = h('figure', { class: 'grid-wrap' });
  wrap.append(h('figcaption', {}, grid.label));
  const scroll = h('div', { class: 'scroll' });
  const table = h('table', { class: 'grid', 'data-grid': role });
  if (axes) {
    const head = h('tr');
    head.append(h('th', { scope: 'col', 'aria-label': 'index' }));
    for (let c = 0; c < grid.cols; c++) head.append(h('th', { scope: 'col' }, String(c + (grid.colOrigin ?? 0))));
    const thead = h('thead');
    thead.append(head);
    table.append(thead);
  }
  const body = h('tbody');
  for (let r = 0; r < grid.rows; r++) {
    const tr = h('tr');
    if (axes) tr.append(h('th', { scope: 'row' }, grid.rows === 1 ? '' : String(r + (grid.rowOrigin ?? 0))));
    for (let c = 0; c < grid.cols; c++) {
      const i = r * grid.cols + c;
      const td = h('td', { 'data-r': String(r), 'data-c': String(c) });
      const cls = grid.classes?.[i];
      if (cls) td.className = cls;
      const shown = grid.shown ? grid.shown[i] : true;
      td.append(h('span', { class: 'v' }, shown ? num(grid.values[i]) : ''));
      const note = grid.notes?.[i];
      if (note) td.append(h('span', { class: 'n' }, note));
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(body);
  scroll.append(table);
  wrap.append(scroll);
  return wrap;
}

function gridGroup(title: string, grids: readonly Grid[], role: string, axes = false, highlight?: string): HTMLElement {
  const box = h('div', { class: 'grid-group' });
  box.append(h('h3', {}, title));
  const row = h('div', { class: 'grid-row' });
  grids.forEach((g, i) => {
    const t = gridTable(g, `${role}-${i}`, axes);
    if (highlight) {
      const [c, r, col] = highlight.split(',').map(Number);
      if (c === i) t.querySelector(`td[data-r="${r}"][data-c="${col}"]`)?.classList.add('hit');
    }
    row.append(t);
  });
  box.append(row);
  return box;
}

function renderEditors(): void {
  const editor = (id: string, title: string, name: string, values: number[], shape: number[], onSet: (i: number, v: number) => void) => {
    const host = $(id);
    host.replaceChildren(h('h3', {}, `${title} ${JSON.stringify(shape).replace(/,/g, ', ')}`));
    const rows = state.rank === 1 ? 1 : shape[2], cols = state.rank === 1 ? shape[2] : shape[3];
    const vol = rows * cols;
    for (let a = 0; a < shape[0]; a++)
      for (let b = 0; b < shape[1]; b++) {
        const base = (a * shape[1] + b) * vol;
        const fig = h('figure', { class: 'grid-wrap' });
        const prefix = name === 'x' ? `x[${a}, ${b}]` : `w[${a}, ${b}]`;
        fig.append(h('figcaption', {}, prefix));
        const scroll = h('div', { class: 'scroll' });
        const table = h('table', { class: 'grid edit' });
        for (let r = 0; r < rows; r++) {
          const tr = h('tr');
          for (let c = 0; c < cols; c++) {
            const i = base + r * cols + c;
            const at = state.rank === 1 ? `${c}` : `${r}, ${c}`;
            const input = h('input', { type: 'text', inputmode: 'decimal', value: String(values[i]), 'aria-label': `${prefix.slice(0, -1)}, ${at}]`, 'data-i': String(i), size: '4' });
            input.addEventListener('input', () => {
              const v = Number(input.value.replace('−', '-'));
              const ok = input.value.trim() !== '' && Number.isFinite(v);
              input.setAttribute('aria-invalid', String(!ok));
              if (ok) {
                onSet(i, v);
                update();
              }
            });
            const td = h('td');
            td.append(input);
            tr.append(td);
          }
          table.append(tr);
        }
        scroll.append(table);
        fig.append(scroll);
        host.append(fig);
      }
  };
  const xs = inputShape(state).slice(1);
  editor('x-editor', 'Input x', 'x', state.x, [1, ...xs], (i, v) => (state.x[i] = v));
  editor('w-editor', 'Kernel w', 'w', state.w, weightShape(state), (i, v) => (state.w[i] = v));
}

// ---------------------------------------------------------------------------------------------
// Results

const FIELD_OF_PARAM: Record<string, string> = {
  stride: 'stride', padding: 'padding', dilation: 'dilation', outputPadding: 'output-padding', outputSize: 'output-size',
  groups: 'groups', bias: 'bias', input: 'in-size-1', weight: 'k-size-1',
};

function showError(e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  const box = $('error');
  box.replaceChildren(h('strong', {}, e instanceof ConvError ? 'convkit says: ' : 'Error: '), h('span', { id: 'error-text' }, msg));
  $('ok').hidden = true;
  const field = e instanceof ConvError ? FIELD_OF_PARAM[e.param] : undefined;
  if (field) {
    $(field).setAttribute('aria-invalid', 'true');
    $(field).setAttribute('aria-describedby', 'error');
  }
}

function clearErrorMarks(): void {
  $('error').replaceChildren();
  $('ok').hidden = false;
  for (const id of Object.values(FIELD_OF_PARAM)) {
    $(id).removeAttribute('aria-invalid');
    $(id).removeAttribute('aria-describedby');
  }
}

function update(): void {
  clearErrorMarks();
  try {
    outcome = compute(state);
  } catch (e) {
    outcome = null;
    showError(e);
    return;
  }
  renderOutcome(outcome);
}

function renderOutcome(o: Outcome): void {
  const f = $('formula');
  f.replaceChildren();
  for (const line of o.formula) {
    const div = h('div', { class: 'formula', 'data-axis': line.axis });
    div.append(h('code', { class: 'sym' }, line.symbolic), h('code', { class: 'sub' }, `= ${line.substituted}`));
    for (const n of line.notes) div.append(h('p', { class: 'hint' }, n));
    f.append(div);
  }
  const list = (v: unknown): string => (Array.isArray(v) ? `[${v.map(list).join(', ')}]` : String(v));
  f.append(h('p', { class: 'hint' }, `Resolved padding [before, after] per dim: ${list(o.pads)}` +
    (o.description.transposed ? `; output padding ${list(o.outputPadding)}` : '') +
    `; dilation ${list(o.dilation)}. describeConv gives output shape ${list(o.description.outputShape)}.`));
  $('output-shape').textContent = `[${o.outShape.join(', ')}]`;
  $('call').textContent = `${state.api === 'paddle' ? 'paddle.' : ''}${o.opName}(x, w${state.bias.trim() ? ', b' : ''}, …)`;
  $('grids').replaceChildren(
    gridGroup('Input x', o.inputGrids, 'input'),
    gridGroup(state.transposed ? 'Kernel w (C_in, C_out/g, …k)' : 'Kernel w (C_out, C_in/g, …k)', o.kernelGrids, 'kernel'),
    gridGroup('Output y', o.outputGrids, 'output'),
  );
  $('step-intro').textContent = state.transposed
    ? 'Each input element scatters its scaled kernel into the full (uncropped) output; the padding crops it and the output padding extends it at the trailing side.'
    : 'Each output element reads one window of the padded input (the kernel is not flipped: cross-correlation).';
  $('step-legend').replaceChildren(...(state.transposed
    ? [['hit', 'this step'], ['crop', 'cropped by padding'], ['outpad', 'output padding']]
    : [['hit', 'window read'], ['pad', 'padding']]).map(([c, t]) => {
    const item = h('span', { class: 'legend-item' });
    item.append(h('span', { class: `swatch ${c}`, 'aria-hidden': 'true' }), document.createTextNode(t));
    return item;
  }));
  const slider = $<HTMLInputElement>('step-slider');
  slider.max = String(o.stepCount - 1);
  stepIndex = clamp(stepIndex, 0, o.stepCount - 1);
  renderStep();
  renderEquivalence(o);
  $('code-torch').textContent = o.torchCode;
  $('code-paddle').textContent = o.paddleCode;
}

function renderStep(): void {
  if (!outcome) return;
  const st = outcome.step(stepIndex);
  const slider = $<HTMLInputElement>('step-slider');
  slider.value = String(stepIndex);
  slider.setAttribute('aria-valuetext', st.title);
  $('step-title').textContent = st.title;
  $('step-detail').textContent = st.detail;
  const source = state.transposed
    ? gridGroup('Input x (this step\'s element)', outcome.inputGrids, 'step-source', false, st.source)
    : gridGroup('Output y (this step\'s element)', outcome.outputGrids, 'step-source', false, st.source);
  $('step-grids').replaceChildren(source, gridGroup(state.transposed ? 'Full output (uncropped), summed so far' : 'Padded input', st.grids, 'step', true));
  // aria-disabled (not disabled) so that a focused button keeps focus at either end.
  const atStart = String(stepIndex === 0), atEnd = String(stepIndex >= outcome.stepCount - 1);
  for (const id of ['step-first', 'step-prev']) $(id).setAttribute('aria-disabled', atStart);
  for (const id of ['step-last', 'step-next']) $(id).setAttribute('aria-disabled', atEnd);
}

function renderEquivalence(o: Outcome): void {
  const body = $('equiv-body');
  const e = o.equivalence;
  if (!e) {
    body.replaceChildren();
    return;
  }
  const verdict = h('p', { id: 'equiv-verdict', class: e.matches ? 'match' : 'mismatch' },
    e.matches ? `✓ matches ${o.opName}: max |difference| = ${num(e.maxDiff)}` : `✗ differs from ${o.opName}: max |difference| = ${num(e.maxDiff)}`);
  const legend = h('div', { class: 'legend' });
  for (const [c, t] of [['src', 'input element'], ['ins', 'inserted zero'], ['pad', 'padding']]) {
    const item = h('span', { class: 'legend-item' });
    item.append(h('span', { class: `swatch ${c}`, 'aria-hidden': 'true' }), document.createTextNode(t));
    legend.append(item);
  }
  const side = h('div', { class: 'side' });
  side.append(gridGroup('Zero-inserted, padded input z', e.zero, 'equiv-z'), gridGroup('Flipped kernel w′', e.flipped, 'equiv-w'),
    gridGroup(`convkit ${e.call}`, e.result, 'equiv-y'), gridGroup(`${o.opName}(x, w) (above)`, o.outputGrids, 'equiv-t'));
  body.replaceChildren(h('p', { class: 'hint' }, e.explanation), legend, side, verdict);
}

// ---------------------------------------------------------------------------------------------
// Wiring

function goTo(t: number): void {
  if (!outcome) return;
  stepIndex = clamp(t, 0, outcome.stepCount - 1);
  renderStep();
}

function applyState(next: State): void {
  state = structuredClone(next);
  stepIndex = 0;
  writeControls();
  renderEditors();
  update();
}

function init(): void {
  const presets = $('presets');
  for (const p of PRESETS) {
    const b = h('button', { type: 'button', 'data-preset': p.id, 'aria-describedby': 'preset-note' }, p.label);
    b.addEventListener('click', () => {
      applyState(p.state);
      $('preset-note').textContent = p.note;
      presets.querySelectorAll('button').forEach((x) => x.setAttribute('aria-pressed', String(x === b)));
    });
    b.setAttribute('aria-pressed', 'false');
    presets.append(b);
  }
  const structural = ['api', 'op', 'rank', 'c-in', 'c-out', 'groups', 'in-size-0', 'in-size-1', 'k-size-0', 'k-size-1'];
  for (const id of structural)
    $(id).addEventListener('change', () => {
      readStructure();
      renderEditors();
      update();
    });
  for (const [id] of TEXT_FIELDS)
    $(id).addEventListener('input', () => {
      readOptions();
      update();
    });
  $('seed').addEventListener('change', () => {
    state.seed = intOf('seed', 0, 2 ** 31 - 1, 1);
  });
  $('randomise').addEventListener('click', () => {
    state.seed = intOf('seed', 0, 2 ** 31 - 1, 1);
    state.x = seededValues(state.x.length, state.seed, 0, 4);
    state.w = seededValues(state.w.length, state.seed + 1, -1, 2);
    renderEditors();
    update();
  });
  $('step-first').addEventListener('click', () => goTo(0));
  $('step-prev').addEventListener('click', () => goTo(stepIndex - 1));
  $('step-next').addEventListener('click', () => goTo(stepIndex + 1));
  $('step-last').addEventListener('click', () => goTo(Number.MAX_SAFE_INTEGER));
  $<HTMLInputElement>('step-slider').addEventListener('input', (ev) => goTo(Number((ev.target as HTMLInputElement).value)));
  // ←/→ step anywhere except while typing in a field (the slider handles its own arrows).
  document.addEventListener('keydown', (ev) => {
    const t = ev.target as HTMLElement;
    if (t.closest('input, select, textarea') || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    if (ev.key === 'ArrowRight') goTo(stepIndex + 1);
    else if (ev.key === 'ArrowLeft') goTo(stepIndex - 1);
    else return;
    ev.preventDefault();
  });
  $('controls').addEventListener('submit', (ev) => ev.preventDefault());
  applyState(state);
}

init();
