/** Sends a checked sts:GetCallerIdentity request to STS and reads who signed it. */
import http from 'node:http';
import https from 'node:https';
import { InvalidToken, Unavailable } from '../errors.js';
import type { SignedCall } from './aws-iam-request.js';

export interface CallerIdentity {
  arn: string;
  userId: string;
  account: string;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * STS's answer: 200 with the caller, 4xx when it refused the signature or the credentials
 * (401 for the client: the token is bad), anything else or no answer is STS being unavailable
 * (503: the client should try again).
 */
export async function getCallerIdentity(call: SignedCall, timeoutMs: number): Promise<CallerIdentity> {
  const { status, body } = await send(call, timeoutMs).catch((e: unknown) => {
    throw unavailable(e);
  });
  if (status >= 400 && status < 500) {
    const err = new InvalidToken('STS refused the signed request', 'sts_refused');
    err.cause = { status, code: /<Code>([^<]{1,100})<\/Code>/.exec(body)?.[1] }; // for the server's logs only
    throw err;
  }
  if (status !== 200) throw unavailable(new Error(`STS answered ${status}`));
  const field = (name: string) => xmlText(new RegExp(`<${name}>([^<]{1,2048})</${name}>`).exec(body)?.[1]);
  const identity = { arn: field('Arn'), userId: field('UserId'), account: field('Account') };
  if (!identity.arn || !identity.userId || !/^\d{12}$/.test(identity.account ?? '')) {
    throw unavailable(new Error('STS answered without a caller identity'));
  }
  return identity as CallerIdentity;
}

function send(call: SignedCall, timeoutMs: number): Promise<{ status: number; body: string }> {
  const lib = call.url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      call.url,
      {
        method: 'POST',
        // Exactly what was signed: no header of ours may change what STS verifies.
        headers: { ...call.headers, 'content-length': String(Buffer.byteLength(call.body)) },
        timeout: timeoutMs,
      },
      (res) => {
        let size = 0;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) req.destroy(new Error('STS answer too large'));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from STS in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(call.body);
  });
}

function xmlText(s: string | undefined): string | undefined {
  return s
    ?.replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}

function unavailable(cause: unknown): Unavailable {
  const err = new Unavailable('STS cannot be reached to check the signed request; try again');
  err.retryAfterSeconds = 5;
  err.cause = cause; // for the server's logs only
  return err;
}

/**
 * The claims an aws-iam issuer's bound claims, subject and instance read: an assumed role is
 * keyed by its role ARN (the session, an EC2 instance id or an ECS task, is the instance); an
 * IAM user by its ARN, path included. GetCallerIdentity does not say a role's path.
 */
export function awsClaims(id: CallerIdentity): Record<string, string> | undefined {
  const m = /^arn:(aws[a-z-]*):(sts|iam)::(\d{12}):(.+)$/.exec(id.arn);
  if (!m || m[3] !== id.account) return undefined;
  const [, partition, service, account, resource] = m as unknown as [string, string, string, string, string];
  const base = { account, callerArn: id.arn, userId: id.userId };
  const role = service === 'sts' ? /^assumed-role\/([^/]+)\/([^/]+)$/.exec(resource) : null;
  if (role) {
    return {
      ...base,
      type: 'assumed-role',
      arn: `arn:${partition}:iam::${account}:role/${role[1]}`,
      name: role[1]!,
      sessionName: role[2]!,
      roleId: id.userId.split(':')[0]!,
    };
  }
  const user = service === 'iam' ? /^user((?:\/[^/]+)*\/)([^/]+)$/.exec(resource) : null;
  if (user) return { ...base, type: 'user', arn: id.arn, name: user[2]!, path: user[1]! };
  if (service === 'sts' && resource.startsWith('federated-user/')) {
    return { ...base, type: 'federated-user', arn: id.arn, name: resource.slice('federated-user/'.length) };
  }
  if (service === 'iam' && resource === 'root') return { ...base, type: 'root', arn: id.arn, name: 'root' };
  return undefined;
}
