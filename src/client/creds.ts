/** NATS user credentials as a lease carries them. */

export interface NatsCredentials {
  /** The user JWT, signed by the account; its `exp` is the lease's (or the credential TTL's) end. */
  jwt: string;
  /** The user nkey seed ("SU..."). Secret. */
  seed: string;
  /** When the JWT expires (RFC 3339). */
  expiresAt: string;
  /** The NATS servers the registry names. */
  servers: string[];
  /**
   * With the auth callout: the connect token sent beside `jwt`/`seed` (then the sentinel's), JSON
   * `{"token","lease"}`. The server hands it to the registry, which answers with the lease's user.
   */
  token?: string;
}

/** The standard `.creds` text (as `nsc` and @nats-io/jwt's fmtCreds write it). */
export function formatCreds(jwt: string, seed: string): string {
  return `-----BEGIN NATS USER JWT-----
${jwt}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used sign and prove identity.
NKEYs are sensitive and should be treated as secrets.

-----BEGIN USER NKEY SEED-----
${seed}
------END USER NKEY SEED------
`;
}
