/** The CLI's calls to the registry: the client's HTTP layer, typed for the caller. */
import { call as callRegistry, type CallOptions } from '../client/http.js';

export type { CallOptions };

/** Calls `base + route`; the parsed JSON body, or undefined for an empty one. Errors are the client's typed ones. */
export async function call<T>(
  base: string,
  method: string,
  route: string,
  o: CallOptions = {},
): Promise<T | undefined> {
  return (await callRegistry(base, method, route, { timeoutMs: 30_000, ...o })) as T | undefined;
}
