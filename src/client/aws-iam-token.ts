/**
 * A token source for an `aws-iam` issuer: proves the caller's AWS identity to snowgate without
 * an OIDC token, the way Vault's AWS auth method does. Each call signs a fresh
 * `sts:GetCallerIdentity` request with SigV4 (the AWS SDK's signer and default credential
 * chain) and returns it as the bearer token; snowgate checks it is only that call, for its own
 * server id, sends it to STS and takes the identity STS answers with. The credentials never
 * leave the workload; the signed request is good for one call within STS's 15-minute window.
 *
 * The bearer format (version 1): base64url (no padding) of the UTF-8 JSON
 * `{ "method": "POST", "url": "https://sts.amazonaws.com/", "headers": { ... }, "body": "Action=GetCallerIdentity&Version=2011-06-15" }`,
 * `headers` holding every header that was signed (lower-case names) and `authorization`.
 *
 * Standalone on purpose: nothing of the registry's server is imported here.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Checksum, SourceData } from '@smithy/types';

/** The header that binds a signed request to one snowgate deployment (an issuer's audience). */
export const SERVER_ID_HEADER = 'x-snowgate-server-id';
export const GET_CALLER_IDENTITY_BODY = 'Action=GetCallerIdentity&Version=2011-06-15';

export interface AwsIamTokenOptions {
  /** The value the registry's aws-iam issuer lists under `audience`; signed in as X-Snowgate-Server-ID. */
  serverId: string;
  /**
   * The STS endpoint the registry's issuer names (its `issuer`).
   * @default "https://sts.amazonaws.com"
   */
  stsEndpoint?: string;
  /**
   * The SigV4 signing region.
   * @default the region in a regional endpoint's host (sts.REGION.amazonaws.com), else us-east-1
   */
  region?: string;
  /**
   * Credentials, or a provider of them.
   * @default the AWS SDK's default chain: environment, SSO and shared files, web identity, ECS and EC2 metadata
   */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
}

/** Returns a token source: each call signs a new request, so a token is never reused past its window. */
export function awsIamToken(options: AwsIamTokenOptions): () => Promise<string> {
  if (!options.serverId) throw new TypeError('awsIamToken: serverId is required');
  const endpoint = new URL(options.stsEndpoint ?? 'https://sts.amazonaws.com');
  if (endpoint.pathname !== '/' || endpoint.search !== '') {
    throw new TypeError(`awsIamToken: stsEndpoint is an origin only, not ${endpoint.href}`);
  }
  const signer = new SignatureV4({
    service: 'sts',
    region: options.region ?? regionOf(endpoint.hostname),
    credentials: options.credentials ?? defaultCredentials(),
    sha256: NodeSha256,
    applyChecksum: false,
  });
  return async () => {
    const signed = await signer.sign({
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
      path: '/',
      query: {},
      headers: {
        host: endpoint.host,
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        [SERVER_ID_HEADER]: options.serverId,
      },
      body: GET_CALLER_IDENTITY_BODY,
    });
    const headers = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const request = { method: 'POST', url: `${endpoint.origin}/`, headers, body: GET_CALLER_IDENTITY_BODY };
    return Buffer.from(JSON.stringify(request), 'utf8').toString('base64url');
  };
}

function regionOf(hostname: string): string {
  return /^sts[.-]([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(hostname)?.[1] ?? 'us-east-1';
}

/** Loaded on first use, so a caller passing its own credentials never loads the chain. */
function defaultCredentials(): AwsCredentialIdentityProvider {
  let chain: Promise<AwsCredentialIdentityProvider> | undefined;
  return async () => {
    chain ??= import('@aws-sdk/credential-provider-node').then((m) => m.defaultProvider());
    return (await chain)();
  };
}

/** SHA-256 and HMAC-SHA-256 from node:crypto, in the shape the signer takes. */
class NodeSha256 implements Checksum {
  readonly #secret: SourceData | undefined;
  #hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.#secret = secret;
    this.#hash = this.#fresh();
  }
  update(data: Uint8Array): void {
    this.#hash.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
  reset(): void {
    this.#hash = this.#fresh();
  }
  #fresh(): Hash | Hmac {
    if (this.#secret === undefined) return createHash('sha256');
    const s = this.#secret;
    const key =
      typeof s === 'string'
        ? s
        : ArrayBuffer.isView(s)
          ? Buffer.from(s.buffer, s.byteOffset, s.byteLength)
          : Buffer.from(s);
    return createHmac('sha256', key);
  }
}
