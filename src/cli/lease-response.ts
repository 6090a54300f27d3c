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

/** Refuses an answer the keeper could not schedule renewals from, rather than failing later. */
export function checkLeaseResponse(v: unknown): LeaseResponse {
  const b = v as Partial<LeaseResponse> | undefined;
  const l = b?.lease;
  if (
    !l ||
    typeof l.id !== 'string' ||
    Number.isNaN(Date.parse(l.expiresAt)) ||
    Number.isNaN(Date.parse(l.renewAfter))
  ) {
    throw new Error('the registry answered without a usable lease (id, expiresAt, renewAfter)');
  }
  return b as LeaseResponse;
}
