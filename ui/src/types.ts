/** The registry's JSON (CONTRACT §4), as the console reads it. */
export interface Principal {
  issuer: string;
  subject: string;
}
export interface Layout {
  epoch: string;
  timestampBits: number;
  nodeBits: number;
  sequenceBits: number;
}
export interface Pool {
  name: string;
  layout: Layout;
  nodes: { total: number; leased: number; pinned: number; free: number };
}
export interface Lease {
  id: string;
  pool: string;
  node: number;
  generation: number;
  principal: Principal;
  instance?: string;
  issuedAt: string;
  expiresAt: string;
  notBefore: string;
  state: 'active' | 'ended';
  endedAt: string | null;
  endReason: string | null;
  natsPublicKey: string | null;
}
export interface Pin {
  pool: string;
  node: number;
  principal: Principal;
  note: string | null;
  createdAt: string;
  createdBy: string;
}
export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  pool?: string;
  node?: number;
  leaseId?: string;
  detail: Record<string, unknown>;
}
export interface SigningKey {
  publicKey: string;
  state: 'active' | 'retiring';
  createdAt: string;
  retireAt?: string;
}
export interface Lineage {
  id: string;
  pool: string;
  timestamp: string;
  node: number;
  sequence: number;
  lease: {
    id: string;
    principal: Principal;
    instance?: string;
    issuedAt: string;
    expiresAt: string;
    endedAt: string | null;
    natsPublicKey: string | null;
  } | null;
}
export interface Session {
  signedIn: boolean;
  actor?: string;
  /** A viewer sees everything and changes nothing: the API refuses its changes. */
  role?: 'admin' | 'viewer';
  csrf?: string;
  expiresAt?: string | null;
  reason?: string;
  signIn: { oidc: string | null };
}
