/**
 * Node's built-in modules (worker_threads, os) from code that must also load in browsers, where a
 * static `import 'node:…'` would break: `process.getBuiltinModule`, which Node has from 20.16 and
 * 22.3 (the floor in package.json's engines). On an older Node the threads are not available:
 * the calls run on one thread and a warning says so, once.
 */
type NodeProcess = {
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
  emitWarning?: (message: string, options: { code: string }) => void;
};

let warned = false;

/** The built-in module `id` ('node:worker_threads', …) in Node; null elsewhere or before Node 20.16. */
export function nodeBuiltin<M>(id: string): M | null {
  const p = (globalThis as { process?: NodeProcess }).process;
  if (typeof p?.versions?.node !== 'string') return null;
  if (typeof p.getBuiltinModule === 'function') return (p.getBuiltinModule(id) as M | undefined) ?? null;
  if (!warned) {
    warned = true;
    p.emitWarning?.(`convkit: Node ${p.versions.node} has no process.getBuiltinModule (Node ^20.16.0 or >=22.3.0 has): ` +
      'the WebAssembly kernels and the async API run on one thread', { code: 'CONVKIT_NODE_VERSION' });
  }
  return null;
}
