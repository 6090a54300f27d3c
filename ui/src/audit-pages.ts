/**
 * The audit log newest first, in pages, over an API that lists it oldest first after an id
 * (GET /v1/admin/audit?after=&limit=): find the newest id by doubling then halving (a few dozen
 * one-entry reads even for millions of entries), then read back from it in windows, filtering by
 * action and actor as the windows come in. Ids only grow; a gap (a rolled-back insert) costs
 * nothing but a shorter window.
 */
import type { AuditEntry } from './types.js';

export type ReadAudit = (after: number, limit: number) => Promise<AuditEntry[]>;

export interface AuditFilter {
  action?: string;
  actor?: string;
  pool?: string;
  node?: number;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `below` for the next older page; undefined: this was the oldest. */
  older: number | undefined;
}

const WINDOW = 1000;
/** Windows read for one page before it is handed back short: a rare filter cannot stall the page. */
const MAX_WINDOWS = 20;

export async function newestId(read: ReadAudit): Promise<number> {
  if ((await read(0, 1)).length === 0) return 0;
  let low = 0; // an entry exists after low
  let high = 1;
  while ((await read(high, 1)).length > 0) {
    low = high;
    high *= 2;
  }
  // An entry after low, none after high: the newest id is in (low, high].
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if ((await read(mid, 1)).length > 0) low = mid;
    else high = mid;
  }
  return high;
}

function matches(e: AuditEntry, f: AuditFilter): boolean {
  if (f.action && !e.action.startsWith(f.action)) return false;
  if (f.actor && !e.actor.includes(f.actor)) return false;
  if (f.pool && e.pool !== f.pool) return false;
  if (f.node !== undefined && e.node !== f.node) return false;
  return true;
}

/** Up to `size` entries that match, newest first, with ids at or below `below`. */
export async function auditPage(read: ReadAudit, below: number, size: number, f: AuditFilter): Promise<AuditPage> {
  const entries: AuditEntry[] = [];
  let high = below;
  for (let w = 0; w < MAX_WINDOWS && high > 0; w++) {
    const low = Math.max(0, high - WINDOW);
    const window = (await read(low, WINDOW)).filter((e) => e.id <= high).reverse();
    for (const e of window) {
      if (!matches(e, f)) continue;
      entries.push(e);
      if (entries.length === size) return { entries, older: e.id - 1 > 0 ? e.id - 1 : undefined };
    }
    high = low;
  }
  return { entries, older: high > 0 ? high : undefined };
}
