/** Starting a Node worker thread on a sibling module, from the compiled .js or (tests, tsx) the .ts sources. */
export interface NodeWorker {
  ref(): void;
  unref(): void;
  terminate(): Promise<number>;
  postMessage(m: unknown): void;
  on(ev: string, f: (a: unknown) => void): void;
}
export interface WorkerThreads { Worker: new (script: URL | string, opts: object) => NodeWorker }

/** `name` without extension, resolved next to `base` (an import.meta.url). */
export function startNodeWorker(wt: WorkerThreads, base: string, name: string, workerData: unknown): NodeWorker {
  const ts = base.endsWith('.ts');
  const url = new URL(`./${name}${ts ? '.ts' : '.js'}`, base);
  // From the TypeScript sources the worker registers tsx's loader before importing itself.
  return ts
    ? new wt.Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(url.href)}); })`, { eval: true, workerData })
    : new wt.Worker(url, { workerData });
}
