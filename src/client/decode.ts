/** Decoding an ID with a layout as the API shows it (CONTRACT §7 `decodeId(id, layout)`). */
import { decodeId as decodeFields, parseIdString } from '../snowflake/codec.js';
import type { Layout } from '../snowflake/layout.js';

export interface Decoded {
  timestamp: Date;
  /** The same instant in Unix ms. */
  timestampMs: number;
  node: number;
  sequence: number;
}

/** Splits an ID (a bigint, or its decimal string) into its fields. Throws RangeError when it does not fit. */
export function decodeId(id: bigint | string, layout: Layout & { epoch: string }): Decoded {
  const epochMs = Date.parse(layout.epoch);
  if (Number.isNaN(epochMs)) throw new RangeError(`layout.epoch is not a time: ${layout.epoch}`);
  const f = decodeFields(layout, epochMs, typeof id === 'string' ? parseIdString(id) : id);
  return { timestamp: new Date(f.timestampMs), timestampMs: f.timestampMs, node: f.node, sequence: f.sequence };
}
