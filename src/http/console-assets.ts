/**
 * The console's built files (Vite's output), held in memory and served at /ui/ with caching
 * that suits them: hashed assets are immutable, index.html is revalidated every time.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
  cacheControl: string;
}

/** Where `npm run build` puts the console (Vite's output): dist/console, beside dist/src. */
export const BUILT_UI_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/**
 * Every file under `dir` by its URL path below /ui/ (`index.html`, `assets/index-3f2a.js`).
 * Empty when the console was not built, so the registry still starts and /ui/ says why.
 */
export function loadAssets(dir: string = BUILT_UI_DIR): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (sub: string) => {
    let names: string[];
    try {
      names = readdirSync(path.join(dir, sub));
    } catch {
      return;
    }
    for (const name of names) {
      const rel = sub ? `${sub}/${name}` : name;
      const file = path.join(dir, rel);
      if (statSync(file).isDirectory()) {
        walk(rel);
        continue;
      }
      const type = TYPES[path.extname(name)];
      if (type === undefined) continue;
      const body = readFileSync(file);
      assets.set(rel, {
        body,
        type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        // Vite names what it emits under assets/ by content hash: a new build is a new name.
        cacheControl: rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
    }
  };
  walk('');
  return assets;
}
