/**
 * `snowgate lease` on top of NodeLease: the lease is kept by the client's one lease keeper; this
 * file adds only what a command line needs: the creds file, one JSON line per grant, and logs.
 */
import { formatCreds } from '../client/creds.js';
import { NodeLease, type Grant } from '../client/node-lease.js';
import type { LeaseRequest } from '../client/lease-keeper.js';
import type { TokenProvider } from '../client/token.js';
import { writeFileAtomic } from './creds-file.js';
import { untilAborted } from './signals.js';

export interface KeeperOptions {
  registry: string;
  token: TokenProvider;
  request: LeaseRequest;
  credsFile?: string;
  /** Print the grant and return: no renewal, no release. */
  once: boolean;
  /** Aborts on shutdown: the lease is then released. */
  signal: AbortSignal;
  /** One JSON line per granted lease, for stdout. */
  print(line: string): void;
  /** Progress and trouble, for stderr. */
  log(line: string): void;
}

/** Writes the creds file, then prints a new grant: an unusable lease is given back, never printed. */
function onGrant(o: KeeperOptions): (g: Grant) => Promise<void> {
  let warned = false;
  return async (g) => {
    if (o.credsFile && g.credentials) {
      try {
        await writeFileAtomic(o.credsFile, formatCreds(g.credentials.jwt, g.credentials.seed));
      } catch (e) {
        // The workload reads its NATS identity from this file: without it the lease is of no use.
        throw new Error(`--creds-file ${o.credsFile}: ${(e as Error).message}`, { cause: e });
      }
    } else if (o.credsFile && !warned) {
      warned = true;
      o.log(`the registry issued no NATS credentials; ${o.credsFile} not written`);
    }
    if (g.kind === 'acquired') o.print(JSON.stringify(g.response));
  };
}

/** Runs until shutdown (resolves after releasing) or a failure that waiting cannot fix (rejects). */
export async function keepLease(o: KeeperOptions): Promise<void> {
  const options = {
    registry: o.registry,
    token: o.token,
    ...o.request,
    // With a creds file the key is made here, so its seed never crosses the network (CONTRACT §5);
    // without one the printed grant carries the registry's seed and creds, as §4 shows.
    userKey: o.credsFile ? ('local' as const) : ('registry' as const),
    onGrant: onGrant(o),
  };
  if (o.once) {
    await NodeLease.grantOnce(options);
    return;
  }
  const node = await NodeLease.acquire(options);
  node.on('renewed', (e) => o.log(`renewed lease ${e.detail.lease.id} until ${e.detail.lease.expiresAt}`));
  node.on('retrying', (e) =>
    o.log(
      `${e.detail.what === 'renew' ? 'renewal' : 'acquiring a lease'} failed: ${e.detail.error.message}; retrying in ${Math.round(e.detail.waitMs)} ms`,
    ),
  );
  node.on('lost', (e) => o.log(`lease ${e.detail.leaseId} lost (${e.detail.reason}): ${e.detail.error.message}`));
  node.on('fenced', (e) => o.log(`lease ${e.detail.leaseId} passed its fence with no renewal landed`));
  const gaveUp = await Promise.race([untilAborted(o.signal).then(() => undefined), node.closed()]);
  if (gaveUp) throw gaveUp;
  const id = node.lease.id;
  await node.close();
  o.log(`released lease ${id}`);
}
