/** What the HTTP layer needs from the rest of the registry, as narrow interfaces. */
import type { AdminRole, IssuerConfig } from '../config/types.js';
import type { Actor, Lease, Principal } from '../registry/types.js';

export interface ServiceIdentity {
  principal: Principal;
  issuer: IssuerConfig;
  /** The lease instance the token names (an issuer's instanceClaim), used when the request names none. */
  instance?: string;
}

export interface AuthPort {
  /** A token of a configured issuer whose bound claims match: 401 or 403 otherwise. */
  service(authorization: string | undefined): Promise<ServiceIdentity>;
  /** The bootstrap token or a token holding `need` (default admin; an admin is also a viewer): 401 or 403 otherwise. */
  admin(authorization: string | undefined, need?: AdminRole): Promise<Actor>;
  /** Either of the above. */
  any(authorization: string | undefined): Promise<Actor>;
}

export interface IssuedCredentials {
  jwt: string;
  /** The JWT's expiry, in milliseconds: never later than the lease's. */
  expiresAt: number;
  seed?: string;
  creds?: string;
}

export interface SigningKeysJson {
  keys: Array<{ publicKey: string; state: 'active' | 'retiring'; createdAt: string; retireAt?: string }>;
}

/** NATS credentials bound to leases; absent when the configuration has no `nats` section. */
export interface CredentialsPort {
  servers: string[];
  /** A fresh user key pair, for a client that sent no `natsPublicKey`. */
  newUser(): { publicKey: string; seed: string };
  issue(lease: Lease, seed?: string): IssuedCredentials;
  /**
   * Admits one grant against the revocation budget (throws RevocationsFull, 503); the slot says
   * whether it was granted.
   */
  admit(): { granted(): void; abandoned(): void };
  /** Whether the servers confirmed the revocation of these ended leases' users; undefined when none was revoked. */
  revocationStatus(leases: Lease[]): 'revoked' | 'pending' | undefined;
  keys(): SigningKeysJson;
  rotate(actor: Actor): Promise<SigningKeysJson>;
}

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}
