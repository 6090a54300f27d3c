/**
 * Why a client call failed, one class per cause, each with a stable `code` to switch on (as jose's
 * errors do): the registry's problem codes (CONTRACT §4), and the client's own. Never branch on a
 * message or a problem's `detail`: they are for people.
 */

/** The problem codes of CONTRACT §4. */
export type ProblemCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'forbidden'
  | 'not_found'
  | 'node_conflict'
  | 'principal_limit'
  | 'lease_gone'
  | 'payload_too_large'
  | 'rate_limited'
  | 'pool_exhausted'
  | 'revocations_full'
  | 'unavailable'
  | 'internal';

/** How a lease ended, as the registry reports it on `410 lease_gone`. */
export type EndReason = 'released' | 'revoked' | 'superseded' | 'expired';

export abstract class SnowgateClientError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An error answer (problem+json) from the registry. */
export abstract class RegistryError extends SnowgateClientError {
  abstract override readonly code: ProblemCode;
  /** HTTP status. */
  readonly status: number;
  /** The problem's `detail`, for people. */
  readonly detail: string | undefined;
  /** From Retry-After (429 and 503): when trying again may work. */
  readonly retryAfterMs: number | undefined;
  constructor(p: ProblemInit) {
    const what = [p.title ?? `HTTP ${p.status}`, p.detail].filter(Boolean).join(': ');
    super(`${p.status} ${what} (${p.code})`);
    this.status = p.status;
    this.detail = p.detail;
    this.retryAfterMs = p.retryAfterMs;
  }
}

interface ProblemInit {
  status: number;
  /** For the message only; each class has its own. */
  code: ProblemCode;
  title?: string;
  detail?: string;
  retryAfterMs?: number;
}

export class InvalidRequestError extends RegistryError {
  readonly code = 'invalid_request';
}
export class InvalidTokenError extends RegistryError {
  readonly code = 'invalid_token';
}
export class ForbiddenError extends RegistryError {
  readonly code = 'forbidden';
}
export class NotFoundError extends RegistryError {
  readonly code = 'not_found';
}
export class NodeConflictError extends RegistryError {
  readonly code = 'node_conflict';
}
export class PrincipalLimitError extends RegistryError {
  readonly code = 'principal_limit';
}
/** Renew or release of a lease that has ended; `endReason` says how, when the registry says. */
export class LeaseGoneError extends RegistryError {
  readonly code = 'lease_gone';
  readonly endReason: EndReason | undefined;
  constructor(p: ProblemInit & { endReason?: EndReason }) {
    super(p);
    this.endReason = p.endReason;
  }
}
export class PayloadTooLargeError extends RegistryError {
  readonly code = 'payload_too_large';
}
export class RateLimitedError extends RegistryError {
  readonly code = 'rate_limited';
}
export class PoolExhaustedError extends RegistryError {
  readonly code = 'pool_exhausted';
}
export class RevocationsFullError extends RegistryError {
  readonly code = 'revocations_full';
}
export class UnavailableError extends RegistryError {
  readonly code = 'unavailable';
}
/** A 5xx the registry did not explain, or a status this client does not know. */
export class InternalError extends RegistryError {
  readonly code = 'internal';
}

/** The registry could not be reached, or did not answer in time. Worth retrying. */
export class RegistryUnreachableError extends SnowgateClientError {
  readonly code = 'registry_unreachable';
}

/** The registry answered in a shape this client cannot use. Retrying will not help. */
export class UnexpectedResponseError extends SnowgateClientError {
  readonly code = 'unexpected_response';
}

/** The token source failed (a missing file, a command that failed). Worth retrying. */
export class TokenUnavailableError extends SnowgateClientError {
  readonly code = 'token_unavailable';
}

/** The lease was taken over by another process with the same principal and instance. */
export class LeaseSupersededError extends SnowgateClientError {
  readonly code = 'lease_superseded';
}

/** A NodeLease or verifier was used after close(), or asked for something it was not set up for. */
export class ClosedError extends SnowgateClientError {
  readonly code = 'closed';
}
export class NatsNotConfiguredError extends SnowgateClientError {
  readonly code = 'nats_not_configured';
}

/** Every error the client throws, to switch on `code` exhaustively. */
export type AnyClientError =
  | InvalidRequestError
  | InvalidTokenError
  | ForbiddenError
  | NotFoundError
  | NodeConflictError
  | PrincipalLimitError
  | LeaseGoneError
  | PayloadTooLargeError
  | RateLimitedError
  | PoolExhaustedError
  | RevocationsFullError
  | UnavailableError
  | InternalError
  | RegistryUnreachableError
  | UnexpectedResponseError
  | TokenUnavailableError
  | LeaseSupersededError
  | ClosedError
  | NatsNotConfiguredError;

type ProblemClass = new (p: ProblemInit) => RegistryError;

const BY_CODE: Record<Exclude<ProblemCode, 'lease_gone'>, ProblemClass> = {
  invalid_request: InvalidRequestError,
  invalid_token: InvalidTokenError,
  forbidden: ForbiddenError,
  not_found: NotFoundError,
  node_conflict: NodeConflictError,
  principal_limit: PrincipalLimitError,
  payload_too_large: PayloadTooLargeError,
  rate_limited: RateLimitedError,
  pool_exhausted: PoolExhaustedError,
  revocations_full: RevocationsFullError,
  unavailable: UnavailableError,
  internal: InternalError,
};

const END_REASONS: readonly string[] = ['released', 'revoked', 'superseded', 'expired'];

/** A problem's code when it is missing or unknown (a proxy's page, a newer registry): from the status. */
function codeOfStatus(status: number): ProblemCode {
  const known: Record<number, ProblemCode> = {
    400: 'invalid_request',
    401: 'invalid_token',
    403: 'forbidden',
    404: 'not_found',
    410: 'lease_gone',
    413: 'payload_too_large',
    429: 'rate_limited',
    503: 'unavailable',
  };
  return known[status] ?? (status >= 400 && status < 500 ? 'invalid_request' : 'internal');
}

/** The error for a problem+json answer (or whatever a non-2xx answer carried). */
export function problemError(
  status: number,
  body: { code?: unknown; title?: unknown; detail?: unknown; endReason?: unknown },
  retryAfterMs: number | undefined,
): RegistryError {
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const stated = str(body.code);
  const code =
    stated !== undefined && (stated in BY_CODE || stated === 'lease_gone')
      ? (stated as ProblemCode)
      : codeOfStatus(status);
  const p: ProblemInit = { status, code, title: str(body.title), detail: str(body.detail), retryAfterMs };
  if (code === 'lease_gone') {
    const reason = str(body.endReason);
    return new LeaseGoneError({
      ...p,
      endReason: END_REASONS.includes(reason ?? '') ? (reason as EndReason) : undefined,
    });
  }
  return new BY_CODE[code](p);
}

/** Failures that waiting can fix: the network, a token about to be replaced, busy or full pools. */
export function isRetryable(e: unknown): boolean {
  if (e instanceof RegistryUnreachableError || e instanceof TokenUnavailableError) return true;
  if (!(e instanceof RegistryError)) return false;
  return (
    e instanceof InvalidTokenError ||
    e instanceof NodeConflictError ||
    e instanceof PrincipalLimitError ||
    e instanceof RateLimitedError ||
    e.status >= 500
  );
}
