import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { resolveConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { PACKAGE_ROOT } from './paths.js';

export interface DevConfigInput {
  dataDir: string;
  issuer: string;
  port: number;
  /** The nats-server `snowgate dev` started, if any. */
  nats?: { dir: string; url: string; authCallout?: boolean };
}

/** config/dev.yaml with this run's data folder, issuer URL, port and NATS filled in. */
export function devConfig(i: DevConfigInput): Config {
  const file = path.join(PACKAGE_ROOT, 'config', 'dev.yaml');
  const raw = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>;
  // Set here rather than through ${VAR}: environment values expand to strings, and a port is a number.
  raw.server = { ...(raw.server as object), port: i.port };
  if (i.nats) {
    raw.nats = { dir: i.nats.dir, servers: [i.nats.url], ...(i.nats.authCallout ? { authCallout: true } : {}) };
  }
  return resolveConfig(raw, { ...process.env, SNOWGATE_DEV_DATA: i.dataDir, SNOWGATE_DEV_ISSUER: i.issuer });
}
