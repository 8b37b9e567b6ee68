/**
 * The built package for the tests that use it as a user would (the CLI binary, `npm pack`): dist/ is
 * rebuilt with tsc when missing or older than src/, and the packed tarball can be installed into a
 * fresh project.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (with a trailing separator). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The newest modification time of any file below `dir`. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true }))
    t = Math.max(t, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs);
  return t;
}

/** Runs tsc over the project when `file` (a path below dist/) is missing or older than src/. */
export function ensureBuilt(file: string): void {
  if (!existsSync(file) || statSync(file).mtimeMs < newest(join(ROOT, 'src')))
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json')], { stdio: 'inherit' });
}

/**
 * Installs the package exactly as npm would: `npm pack` into `tarballDir`, unpacked into
 * `project/node_modules/convkit`, and the package's dependencies linked from this repository's
 * node_modules. Returns the installed package's folder.
 */
export function installPacked(project: string, tarballDir = project): string {
  const tgz = execFileSync('npm', ['pack', '--pack-destination', tarballDir, '--ignore-scripts', '--silent'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop()!;
  const pkgDir = join(project, 'node_modules', 'convkit');
  mkdirSync(pkgDir, { recursive: true });
  execFileSync('tar', ['-xzf', join(tarballDir, tgz), '-C', pkgDir, '--strip-components=1']);
  const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of Object.keys(dependencies)) symlinkSync(join(ROOT, 'node_modules', dep), join(project, 'node_modules', dep));
  return pkgDir;
}
