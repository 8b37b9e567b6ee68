/**
 * Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by playwright-core
 * with the project's flags, and a static server on 127.0.0.1 for a built page.
 */
import { serveMounts, type Served } from '../../bench/static-server.js';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { removeDir, tempDir } from './tmp.js';

export const CHROMIUM = '/usr/bin/chromium';

/** How a test launches Chromium. */
export interface ChromiumOptions {
  /** Leave out --disable-gpu (WebGPU in the page needs the GPU process). Default false. */
  gpu?: boolean;
  /** Flags appended after the project's. */
  extra?: readonly string[];
}

/** The flags every test launches Chromium with (see `ChromiumOptions`). */
export function chromiumArgs(opts: ChromiumOptions = {}): string[] {
  return ['--headless', '--no-sandbox', ...(opts.gpu ? [] : ['--disable-gpu']), '--no-first-run', '--disable-background-networking', '--disable-component-update', ...(opts.extra ?? [])];
}

/** Launches headless Chromium (flags: `chromiumArgs(opts)`). */
export function launchChromium(opts: ChromiumOptions = {}): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumArgs(opts) });
}

/** A persistent browser context and the way to close it (and remove its profile). */
export interface ChromiumContext {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Launches headless Chromium (flags: `chromiumArgs()`) with a persistent profile in a new temporary
 * folder (`convkit-<name>-…`); `close()` closes it and removes the folder.
 */
export async function launchChromiumContext(name: string, opts: { viewport?: { width: number; height: number } } = {}): Promise<ChromiumContext> {
  const userDataDir = tempDir(name);
  try {
    const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: chromiumArgs(), ...opts });
    return { context, close: async () => { await context.close(); removeDir(userDataDir); } };
  } catch (e) {
    removeDir(userDataDir);
    throw e;
  }
}

/** Collects a page's uncaught errors and console errors as they happen. */
export function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  return problems;
}

export type { Served } from '../../bench/static-server.js';

/**
 * Serves the files below `root` (a folder's index.html for the folder) on 127.0.0.1 at a free
 * port, each response with `headers`; anything else, or outside `root`, is a 404.
 */
export const serve = (root: string, headers: Record<string, string> = {}): Promise<Served> => serveMounts({ '/': root }, headers);
