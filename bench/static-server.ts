/**
 * A static file server on 127.0.0.1 for the browser benchmark and the browser tests: URL prefixes
 * mapped to folders (a folder's index.html for the folder), every response with the given headers;
 * anything else, or a path outside its folder, is a 404.
 */
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

/** The headers that make a page crossOriginIsolated (SharedArrayBuffer, threads). */
export const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
};

/** A running server. */
export interface Served {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `mounts` (URL prefix → folder; the longest matching prefix wins) at a free port, each
 * response with `headers`; `onFile` sees every file served.
 */
export function serveMounts(mounts: Record<string, string>, headers: Record<string, string> = {}, onFile?: (file: string) => void): Promise<Served> {
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const prefix = Object.keys(mounts).filter((p) => path.startsWith(p)).sort((a, b) => b.length - a.length)[0];
      if (prefix === undefined) throw new Error('no mount');
      const root = mounts[prefix];
      let file = normalize(join(root, path.slice(prefix.length)));
      if (file !== root && !file.startsWith(root + sep)) throw new Error('outside root');
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      onFile?.(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', ...headers });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`,
    close: () => new Promise<void>((done) => { server.close(() => done()); server.closeAllConnections(); }),
  })));
}
