/**
 * The bearer of an `aws-iam` issuer: a SigV4-signed `sts:GetCallerIdentity` request (the format
 * is described in src/client/aws-iam-token.ts, which makes it). Before snowgate sends it on to
 * STS, it must be only that call, to the configured endpoint, signed for this deployment: a
 * request for anything else would make snowgate an open relay for the caller's signature.
 */
import { InvalidToken } from '../errors.js';

export const SERVER_ID_HEADER = 'x-snowgate-server-id';
const BODY = { Action: 'GetCallerIdentity', Version: '2011-06-15' };
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=[A-Za-z0-9]{16,128}\/\d{8}\/[a-z0-9-]{1,32}\/sts\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=[0-9a-f]{64}$/;

export interface SignedCall {
  url: URL;
  /** Exactly the signed headers and authorization, lower-case names. */
  headers: Record<string, string>;
  body: string;
  /** The X-Snowgate-Server-ID it was signed for. */
  serverId: string;
}

/** Whether a bearer token is in the aws-iam format rather than a JWT (which always has two dots). */
export function looksLikeAwsIamRequest(token: string): boolean {
  return !token.includes('.');
}

/**
 * Decodes and checks a signed request; throws InvalidToken naming what is wrong with it. It
 * checks the shape only; STS checks the signature, the credentials and the time.
 */
export function parseSignedCall(token: string, endpoint: string, audience: readonly string[]): SignedCall {
  const raw = decode(token);
  const url = requestUrl(raw.url, endpoint);
  if (raw.method !== 'POST') refuse('its method is not POST');
  checkBody(raw.body);
  const headers = lowerCased(raw.headers);
  const auth = AUTHORIZATION.exec(headers.authorization ?? '');
  if (!auth) refuse('its authorization is not an AWS4-HMAC-SHA256 signature for sts');
  const signed = auth[1]!.split(';');
  for (const name of ['host', 'x-amz-date', SERVER_ID_HEADER]) {
    if (!signed.includes(name)) refuse(`${name} is not signed`);
  }
  if (headers.host !== url.host) refuse('its host header is not the STS endpoint');
  const serverId = headers[SERVER_ID_HEADER]!;
  if (!audience.includes(serverId)) throw new InvalidToken('token audience not accepted', 'bad_audience');
  const forwarded: Record<string, string> = { authorization: headers.authorization! };
  for (const name of signed) {
    const v = headers[name];
    if (v === undefined) refuse(`the signed header ${name} is missing`);
    forwarded[name] = v;
  }
  return { url, headers: forwarded, body: raw.body as string, serverId };
}

function refuse(why: string): never {
  throw new InvalidToken(`not a signed sts:GetCallerIdentity request: ${why}`, 'malformed');
}

function decode(token: string): Record<string, unknown> {
  let v: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error('not base64url');
    v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidToken('token malformed', 'malformed');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidToken('token malformed', 'malformed');
  const keys = Object.keys(v).sort().join(',');
  if (keys !== 'body,headers,method,url') refuse('expected exactly method, url, headers and body');
  return v as Record<string, unknown>;
}

function requestUrl(value: unknown, endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    refuse('its url is not a URL');
  }
  // The origin comparison keeps the request on the configured endpoint (no other host, port or
  // scheme); no path or query leaves room for any other action.
  if (url.origin !== endpoint) refuse(`it is not for ${endpoint}`);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username || url.password) {
    refuse('its url has a path, query or credentials');
  }
  return url;
}

function checkBody(body: unknown): void {
  if (typeof body !== 'string' || body.length > 256) refuse('its body is not GetCallerIdentity');
  const form = new URLSearchParams(body);
  const entries = [...form.entries()];
  const ok =
    entries.length === 2 &&
    Object.entries(BODY).every(([k, want]) => form.getAll(k).length === 1 && form.get(k) === want);
  if (!ok) refuse('its body is not exactly Action=GetCallerIdentity&Version=2011-06-15');
}

function lowerCased(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) refuse('its headers are not an object');
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(value)) {
    const name = k.toLowerCase();
    // Values go into an HTTP request as they are: no line breaks, nothing a header cannot hold.
    if (typeof v !== 'string' || !/^[a-z0-9-]{1,64}$/.test(name) || !/^[\t\x20-\x7e]{0,8192}$/.test(v)) {
      refuse(`its header ${JSON.stringify(k).slice(0, 80)} is not a plain header`);
    }
    if (name in out) refuse(`its header ${name} is given twice`);
    out[name] = v;
  }
  return out;
}
