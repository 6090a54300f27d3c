/** How `snowgate watch` shows a checked message and its summary: one line each, for people or for jq. */
import type { CheckProblem, CheckResult } from '../client/verifier.js';

const FLAGS: Record<CheckProblem, string> = {
  duplicate: 'dup',
  out_of_order: 'order',
  node_mismatch: 'node?',
  bad_signature: 'sig?',
  missing_signature: 'unsigned',
  no_lease: 'holder?',
  lineage_unavailable: 'lineage?',
  future: 'future',
  msg_id_mismatch: 'msgid?',
  missing_id: 'no-id',
  malformed_id: 'bad-id',
  unknown_pool: 'pool?',
};

export function flagsOf(r: CheckResult): string[] {
  const flags = r.problems.map((p) => FLAGS[p]);
  if (r.signature === 'valid') flags.push('signed');
  return flags;
}

function holderOf(r: CheckResult): string {
  if (!r.lease) return '-';
  const who = `${r.lease.principal.issuer}:${r.lease.principal.subject}`;
  return r.lease.instance ? `${who} (${r.lease.instance})` : who;
}

export function textLine(subject: string, r: CheckResult): string {
  const cells = [
    r.id ?? '-',
    r.timestamp?.toISOString() ?? '-',
    r.node !== undefined ? `node ${r.node}` : 'node -',
    holderOf(r),
    subject,
    ...flagsOf(r),
  ];
  return cells.join('  ');
}

export function jsonLine(subject: string, r: CheckResult, size: number): string {
  return JSON.stringify({
    id: r.id ?? null,
    subject,
    pool: r.pool ?? null,
    timestamp: r.timestamp?.toISOString() ?? null,
    node: r.node ?? null,
    sequence: r.sequence ?? null,
    holder: r.lease
      ? {
          issuer: r.lease.principal.issuer,
          subject: r.lease.principal.subject,
          instance: r.lease.instance,
          leaseId: r.lease.id,
        }
      : null,
    signature: r.signature,
    flags: flagsOf(r),
    problems: r.problems,
    size,
  });
}

/** Counts for the summary printed on exit. */
export class Tally {
  messages = 0;
  readonly byNode = new Map<number, number>();
  readonly problems = new Map<CheckProblem, number>();

  add(r: CheckResult): void {
    this.messages++;
    if (r.node !== undefined) this.byNode.set(r.node, (this.byNode.get(r.node) ?? 0) + 1);
    for (const p of r.problems) this.problems.set(p, (this.problems.get(p) ?? 0) + 1);
  }

  json(): string {
    const sorted = <K extends string | number>(m: Map<K, number>): Record<string, number> =>
      Object.fromEntries([...m].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    return JSON.stringify({
      summary: { messages: this.messages, nodes: sorted(this.byNode), problems: sorted(this.problems) },
    });
  }

  text(): string {
    const nodes = [...this.byNode].sort((a, b) => a[0] - b[0]).map(([n, c]) => `${n}: ${c}`);
    const problems = [...this.problems].map(([p, c]) => `${FLAGS[p]} ${c}`);
    return [
      `${this.messages} message${this.messages === 1 ? '' : 's'}`,
      `per node: ${nodes.length ? nodes.join(', ') : 'none'}`,
      `problems: ${problems.length ? problems.join(', ') : 'none'}`,
    ].join('; ');
  }
}
