import type { Command } from 'commander';
import { call, type CallOptions } from './registry-client.js';

interface AdminFlags {
  registry: string;
  token: string;
}

/**
 * Calls an admin route with the `admin` command's --registry and --token (which may also come
 * after the group name) and prints the answer as pretty JSON. A 204 prints nothing.
 */
export async function adminCall(
  cmd: Command,
  method: string,
  route: string,
  o: Pick<CallOptions, 'body' | 'query'> = {},
): Promise<void> {
  const { registry, token } = cmd.optsWithGlobals<AdminFlags>();
  const body = await call(registry, method, route, { ...o, token });
  if (body !== undefined) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
}

/** A path segment, escaped so a pool or lease id cannot reach another route. */
export const seg = (s: string | number): string => encodeURIComponent(String(s));
