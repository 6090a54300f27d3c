// The console's build: `vite build ui` (npm run build), into dist/console, served by the registry at /ui/.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/ui/',
  publicDir: 'public',
  build: {
    outDir: '../dist/console',
    emptyOutDir: true,
    target: 'es2022',
    // The strict Content-Security-Policy allows no inline script and no data: URLs.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
