/**
 * The one error handler: every failure leaves as application/problem+json with a stable `code`.
 * 5xx details stay in the log, never in the response.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { SnowgateError, type ProblemCode } from '../errors.js';

const TITLES: Record<ProblemCode, string> = {
  invalid_request: 'Invalid request',
  invalid_token: 'Invalid token',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  node_conflict: 'Node conflict',
  principal_limit: 'Principal limit reached',
  lease_gone: 'Lease gone',
  payload_too_large: 'Payload too large',
  rate_limited: 'Rate limited',
  pool_exhausted: 'Pool exhausted',
  revocations_full: 'Revocations full',
  unavailable: 'Unavailable',
  internal: 'Internal error',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
}

export function problem(code: ProblemCode, status: number, detail: string): Problem {
  return { type: `urn:snowgate:problem:${code}`, title: TITLES[code], status, detail, code };
}

/** Maps fastify's own errors (parsing, body limit, validation) to the contract's codes. */
function fromFastify(err: FastifyError): Problem | undefined {
  if (err.validation) return problem('invalid_request', 400, err.message);
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return problem('payload_too_large', 413, 'the body is over 64 KiB');
  if (err.statusCode === 413) return problem('payload_too_large', 413, err.message);
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return problem('invalid_request', 400, 'the body must be application/json');
  }
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return problem('invalid_request', 400, err.message);
  }
  return undefined;
}

export function sendProblem(reply: FastifyReply, p: Problem, retryAfterSeconds?: number): FastifyReply {
  if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds));
  return reply.code(p.status).type('application/problem+json').send(p);
}

export function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof SnowgateError) {
    // Load shedding (a full pool, a full revocation budget) is the system working: not a warning.
    if (err.status >= 500 && err.code !== 'pool_exhausted' && err.code !== 'revocations_full')
      req.log.warn({ err }, 'request failed');
    return sendProblem(
      reply,
      { ...problem(err.code, err.status, err.message), ...err.extensions() },
      err.retryAfterSeconds,
    );
  }
  const p = fromFastify(err);
  if (p) return sendProblem(reply, p);
  req.log.error({ err }, 'unexpected error');
  return sendProblem(reply, problem('internal', 500, 'the registry failed to handle this request; see its log'));
}

/**
 * Errors Node's HTTP parser raises before fastify sees a request (headers over the limit, a
 * malformed request line): answered as problem+json on the raw socket.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // 413 as CONTRACT §4 gives payload_too_large (a token over 16 KiB), not 431: one status per code.
  const p =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? problem('payload_too_large', 413, 'the request headers are over 32 KiB')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? problem('invalid_request', 408, 'the request took too long to arrive')
        : problem('invalid_request', 400, 'malformed HTTP request');
  const body = JSON.stringify(p);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${p.status} ${STATUS_CODES[p.status]}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
