/**
 * Vite configuration of the explainer page. The page imports the library as `convkit`, which is
 * aliased to the TypeScript sources, so the page always runs the code in this checkout.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: './',
  resolve: { alias: { convkit: here('../src/index.ts') } },
  build: { outDir: here('../dist-web'), emptyOutDir: true, target: 'es2022', sourcemap: false, reportCompressedSize: false },
  logLevel: 'warn',
});
