/**
 * The console's session: an HttpOnly, SameSite=Strict cookie that holds the admin's bearer token
 * (from OIDC sign-in or pasted), so no script can read it and every replica can use it. A request
 * that the cookie authorizes must also carry `x-snowgate-csrf`, a value derived from the token
 * that only the console's own page can learn (from GET /ui/session): a cookie alone authorizes
 * nothing, so no other site can make the browser act, whatever SameSite a browser implements.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Forbidden, InvalidRequest } from '../errors.js';

export const SESSION_COOKIE = 'snowgate_session';
export const CSRF_HEADER = 'x-snowgate-csrf';
/** Browsers keep cookies up to 4096 bytes, name and attributes included. */
const MAX_TOKEN_BYTES = 3800;

export function csrfOf(token: string): string {
  return createHash('sha256').update(`snowgate-console-csrf\0${token}`).digest('base64url');
}

function secure(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

export function setSession(req: FastifyRequest, reply: FastifyReply, token: string, maxAgeSeconds: number): void {
  if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) {
    throw new InvalidRequest(`token: over ${MAX_TOKEN_BYTES} bytes, too large for a browser session`);
  }
  void reply.setCookie(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    secure: secure(req),
    path: '/',
    maxAge: Math.max(1, Math.floor(maxAgeSeconds)),
  });
}

export function clearSession(req: FastifyRequest, reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: secure(req), path: '/' });
}

export function sessionToken(req: FastifyRequest): string | undefined {
  const v = req.cookies[SESSION_COOKIE];
  return v === undefined || v === '' ? undefined : v;
}

function sameValue(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The session token of a console request that proved it came from the console; throws otherwise. */
export function checkedSession(req: FastifyRequest): string | undefined {
  const token = sessionToken(req);
  if (token === undefined) return undefined;
  const sent = req.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !sameValue(sent, csrfOf(token))) {
    throw new Forbidden(`a console session needs the ${CSRF_HEADER} header from GET /ui/session`);
  }
  return token;
}

/**
 * onRequest: a /v1/ request without an Authorization header but with a session cookie is the
 * console's; it goes on as the session's bearer token, so the API's own checks (admin role,
 * viewer role) decide what it may do.
 */
export async function sessionAsBearer(req: FastifyRequest): Promise<void> {
  if (!req.url.startsWith('/v1/') || req.headers.authorization !== undefined) return;
  const token = checkedSession(req);
  if (token !== undefined) req.headers.authorization = `Bearer ${token}`;
}

/**
 * onSend: GET answers of the API carry a strong ETag, and a matching If-None-Match gets 304 with
 * no body: the console polls these every second or two, and most polls find nothing changed.
 */
export async function etagged(req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (req.method !== 'GET' || !req.url.startsWith('/v1/') || reply.statusCode !== 200) return payload;
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
  const etag = `"${createHash('sha256').update(payload).digest('base64url').slice(0, 27)}"`;
  void reply.header('etag', etag);
  void reply.header('cache-control', 'private, no-cache');
  const match = req.headers['if-none-match'];
  if (match === undefined || !match.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}`)) {
    return payload;
  }
  void reply.code(304);
  void reply.removeHeader('content-type');
  return '';
}
