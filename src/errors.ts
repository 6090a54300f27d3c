/**
 * One error class per failure, each with the stable `code` and HTTP status of CONTRACT §4.
 * Domain code throws these; the HTTP layer's one error handler maps them to problem+json.
 */
import type { ProblemCode } from './client/errors.js';
import type { EndReason } from './registry/types.js';

// The codes are the wire contract, which the client package defines for both sides.
export type { ProblemCode };

export abstract class SnowgateError extends Error {
  abstract readonly code: ProblemCode;
  abstract readonly status: number;
  /** Seconds a client should wait before trying again (sent as Retry-After). */
  retryAfterSeconds?: number;
  /** Members the problem+json carries beside the standard ones, for clients to switch on. */
  extensions(): Record<string, unknown> {
    return {};
  }
}

export class InvalidRequest extends SnowgateError {
  readonly code = 'invalid_request';
  readonly status = 400;
}
export class InvalidToken extends SnowgateError {
  readonly code = 'invalid_token';
  readonly status = 401;
  /** The configured issuer the token claimed to be from, for metrics; never sent to the client. */
  issuer?: string;
  /** Why, for metrics (token rejections by reason); never sent to the client. */
  constructor(
    message: string,
    readonly reason = 'invalid',
  ) {
    super(message);
  }
}
export class Forbidden extends SnowgateError {
  readonly code = 'forbidden';
  readonly status = 403;
}
/** A verified token whose issuer's bound claims it does not meet: a stranger, counted per issuer. */
export class ClaimsMismatch extends Forbidden {
  constructor(
    message: string,
    readonly issuer: string,
  ) {
    super(message);
  }
}
export class NotFound extends SnowgateError {
  readonly code = 'not_found';
  readonly status = 404;
}
export class NodeConflict extends SnowgateError {
  readonly code = 'node_conflict';
  readonly status = 409;
}
export class PrincipalLimit extends SnowgateError {
  readonly code = 'principal_limit';
  readonly status = 409;
}
export class LeaseGone extends SnowgateError {
  readonly code = 'lease_gone';
  readonly status = 410;
  /** How it ended, sent as `endReason` so a client never has to read `detail` to tell. */
  constructor(
    message: string,
    readonly endReason?: EndReason,
  ) {
    super(message);
  }
  override extensions(): Record<string, unknown> {
    return this.endReason ? { endReason: this.endReason } : {};
  }
}
export class PayloadTooLarge extends SnowgateError {
  readonly code = 'payload_too_large';
  readonly status = 413;
}
export class RateLimited extends SnowgateError {
  readonly code = 'rate_limited';
  readonly status = 429;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
export class PoolExhausted extends SnowgateError {
  readonly code = 'pool_exhausted';
  readonly status = 503;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
/**
 * Granting now could leave a later revocation unpushable: the NATS account JWT is near the servers'
 * `max_payload`. Retry-After says when revocations age out.
 */
export class RevocationsFull extends SnowgateError {
  readonly code = 'revocations_full';
  readonly status = 503;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
/** A dependency (store, NATS, an issuer's JWKS) cannot be reached right now. */
export class Unavailable extends SnowgateError {
  readonly code = 'unavailable';
  readonly status = 503;
}
