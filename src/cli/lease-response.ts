/** The lease grant and renewal body of CONTRACT §4, as far as the CLI reads it. */
export interface LeaseResponse {
  lease: {
    id: string;
    pool: string;
    node: number;
    generation: number;
    principal: { issuer: string; subject: string };
    instance?: string;
    issuedAt: string;
    expiresAt: string;
    renewAfter: string;
    notBefore: string;
  };
  layout: { epoch: string; timestampBits: number; nodeBits: number; sequenceBits: number };
  nats?: { jwt: string; expiresAt: string; servers: string[]; seed?: string; creds?: string };
  now: string;
  maxClockSkewMs: number;
}

/**
 * Refuses an answer the keeper could not schedule renewals from, rather than failing later. `now`
 * and `maxClockSkewMs` are in every §4 body and the fence counts from them: no local stand-in.
 */
export function checkLeaseResponse(v: unknown): LeaseResponse {
  const b = v as Partial<LeaseResponse> | undefined;
  const l = b?.lease;
  if (
    !l ||
    typeof l.id !== 'string' ||
    Number.isNaN(Date.parse(l.expiresAt)) ||
    Number.isNaN(Date.parse(l.renewAfter)) ||
    typeof b.now !== 'string' ||
    Number.isNaN(Date.parse(b.now)) ||
    typeof b.maxClockSkewMs !== 'number' ||
    !(b.maxClockSkewMs >= 0 && Number.isFinite(b.maxClockSkewMs))
  ) {
    throw new Error(
      'the registry answered without a usable lease (lease.id, lease.expiresAt, lease.renewAfter, now, maxClockSkewMs)',
    );
  }
  return b as LeaseResponse;
}

/** The lease id of an answer, usable or not, so that even a grant the keeper refuses can be released. */
export function leaseIdOf(v: unknown): string | undefined {
  const id = (v as { lease?: { id?: unknown } } | undefined)?.lease?.id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}
