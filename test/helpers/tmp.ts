/**
 * Temporary folders for the tests: each is named `convkit-<name>-…` under the system's temporary
 * folder and is removed with everything in it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A new empty folder `convkit-<name>-…`; the caller removes it (`removeDir`). */
export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `convkit-${name}-`));
}

/** Removes a folder and everything in it; a folder that is not there is no error. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs `f` in a new temporary folder, removed afterwards whether `f` returns or throws. */
export function withTempDir<T>(name: string, f: (dir: string) => T): T {
  const dir = tempDir(name);
  try {
    return f(dir);
  } finally {
    removeDir(dir);
  }
}

/** `withTempDir` for an async `f`: the folder is removed once its promise settles. */
export async function withTempDirAsync<T>(name: string, f: (dir: string) => Promise<T>): Promise<T> {
  const dir = tempDir(name);
  try {
    return await f(dir);
  } finally {
    removeDir(dir);
  }
}
