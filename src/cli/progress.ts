/// <reference types="node" />
/**
 * Progress for long CLI work: a cli-progress bar on stderr when stderr is a terminal, nothing in a
 * pipe (so that scripts and tests see only the results).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Marks the start of a named stage. */
  stage(name: string): void;
  stop(): void;
}

export function stages(total: number, enabled = Boolean(process.stderr.isTTY)): Progress {
  if (!enabled) return { stage: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: '{bar} {value}/{total} {stage}', stream: process.stderr, clearOnComplete: true, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let done = -1;
  bar.start(total, 0, { stage: '' });
  return {
    stage(name) {
      done++;
      bar.update(done, { stage: name });
    },
    stop() {
      if (done === total) return;
      done = total;
      bar.update(total, { stage: 'done' });
      bar.stop();
    },
  };
}
