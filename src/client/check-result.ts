/**
 * What LineageVerifier reads of a message (its stamp, in one pass over nats.js headers) and what
 * it answers per message: the result and its problems.
 */
import type { MsgHdrs } from '@nats-io/transport-node';
import { SIG_HEADER } from './signature.js';
import { MSG_ID_HEADER } from './stamp.js';
import { ID_HEADER } from './subscription.js';
import type { LineageLeaseJson } from './wire.js';

export type CheckProblem =
  | 'missing_id'
  | 'malformed_id'
  | 'unknown_pool'
  | 'msg_id_mismatch'
  | 'node_mismatch'
  | 'future'
  | 'duplicate'
  | 'out_of_order'
  | 'no_lease'
  | 'lineage_unavailable'
  | 'bad_signature'
  | 'missing_signature';

export interface CheckResult {
  /** No problems. */
  ok: boolean;
  /** The Snowflake-Id, as sent. */
  id: string | undefined;
  pool: string | undefined;
  node: number | undefined;
  /** The instant the ID encodes: a new Date at each read of it (timestampMs is the number). */
  readonly timestamp: Date | undefined;
  /** The same instant in Unix ms. */
  timestampMs: number | undefined;
  sequence: number | undefined;
  duplicate: boolean;
  outOfOrder: boolean;
  problems: CheckProblem[];
  /** The lease that held the node at that instant (null: none did); undefined without a registry. */
  lease: LineageLeaseJson | null | undefined;
  /** Snowflake-Sig: checked against the lease's key, or why not. */
  signature: 'valid' | 'invalid' | 'missing' | 'unchecked';
}

/**
 * A result. Made once a message, so its cost counts: a class gives every result one shape, and
 * the Date is made only when read, since one per message was a tenth of a check.
 */
export class Result implements CheckResult {
  ok = false;
  id: string | undefined;
  pool: string | undefined = undefined;
  node: number | undefined = undefined;
  timestampMs: number | undefined = undefined;
  sequence: number | undefined = undefined;
  duplicate = false;
  outOfOrder = false;
  problems: CheckProblem[] = [];
  lease: LineageLeaseJson | null | undefined = undefined;
  signature: CheckResult['signature'];

  constructor(id: string | undefined, sig: string | undefined) {
    this.id = id;
    this.signature = sig === undefined ? 'missing' : 'unchecked';
  }

  get timestamp(): Date | undefined {
    return this.timestampMs === undefined ? undefined : new Date(this.timestampMs);
  }

  /** JSON and console.log show the timestamp too, as they would a plain object's. */
  toJSON(): Omit<CheckResult, 'timestamp'> & { timestamp: Date | undefined } {
    return { ...this, timestamp: this.timestamp };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): object {
    return this.toJSON();
  }
}

/** What the verifier reads of a message: a nats.js Msg fits. */
export interface CheckedMessage {
  subject: string;
  headers?: MsgHdrs;
  data?: Uint8Array;
}

/** Snowflake-Id, Nats-Msg-Id and Snowflake-Sig of a message. */
export interface Stamp {
  id: string | undefined;
  msgId: string | undefined;
  sig: string | undefined;
}

/**
 * Reads the stamp in one pass. nats.js headers keep a Map of their values (declared public):
 * three lookups there cost less than iterating, which allocates an entry per header.
 */
export function readStamp(h: MsgHdrs | undefined, out: Stamp): void {
  out.id = out.msgId = out.sig = undefined;
  if (!h) return;
  const map = (h as { headers?: unknown }).headers;
  if (map instanceof Map) {
    const m = map as Map<string, string[]>;
    out.id = m.get(ID_HEADER)?.[0];
    out.msgId = m.get(MSG_ID_HEADER)?.[0];
    out.sig = m.get(SIG_HEADER)?.[0];
    return;
  }
  for (const [k, v] of h) {
    if (k === ID_HEADER) out.id = v[0];
    else if (k === MSG_ID_HEADER) out.msgId = v[0];
    else if (k === SIG_HEADER) out.sig = v[0];
  }
}
