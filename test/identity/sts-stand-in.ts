// A local stand-in for AWS STS's GetCallerIdentity: the one edge that cannot run here. It speaks
// STS's wire format (form body in, XML out, STS's error codes) and verifies SigV4 signatures for
// real, recomputing each with the AWS SDK's signer from the credentials it knows, so a request
// snowgate altered on the way (a header dropped, the body changed) fails as it would at AWS.
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  arn: string;
  userId: string;
  account: string;
}

export interface StsStandIn {
  endpoint: string;
  calls: number;
  /** While set, answers every request with this status (a 500, a 503 throttle). */
  failWith?: number;
  /** Received requests, as the stand-in saw them. */
  seen: Array<{ method: string; headers: http.IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
}

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;
/** The signer adds these itself from the date and the credentials. */
const GENERATED = new Set(['authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']);

export interface SignedRequest {
  method: string;
  host: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Whether a request carries a valid SigV4 signature by one of these credentials, recomputed over
 * exactly the headers it says it signed. Returns STS's error code, or undefined when it is valid.
 */
export async function verifySigV4(
  req: SignedRequest,
  lookup: (accessKeyId: string) => { secretAccessKey: string; sessionToken?: string } | undefined,
  service: string,
  nowMs = Date.now(),
): Promise<string | undefined> {
  const m = AUTH.exec(req.headers.authorization ?? '');
  if (!m) return 'IncompleteSignature';
  const [, akid, day, region, signedService, signedList] = m as unknown as string[];
  if (signedService !== service) return 'SignatureDoesNotMatch';
  const creds = lookup(akid!);
  if (!creds) return 'InvalidClientTokenId';
  if (creds.sessionToken !== undefined && req.headers['x-amz-security-token'] !== creds.sessionToken) {
    return 'InvalidClientTokenId';
  }
  const amzDate = req.headers['x-amz-date'] ?? '';
  const when = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
  if (Number.isNaN(when) || !amzDate.startsWith(day!)) return 'IncompleteSignature';
  if (Math.abs(nowMs - when) > 15 * 60_000) return 'SignatureDoesNotMatch'; // "Signature expired"
  const signed = signedList!.split(';');
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const v = req.headers[name];
    if (v === undefined) return 'SignatureDoesNotMatch';
    if (!GENERATED.has(name)) headers[name] = v;
  }
  const signer = new SignatureV4({
    service,
    region: region!,
    credentials: { accessKeyId: akid!, secretAccessKey: creds.secretAccessKey, sessionToken: creds.sessionToken },
    sha256: Sha256,
    applyChecksum: signed.includes('x-amz-content-sha256'),
  });
  const [path, query = ''] = req.path.split('?');
  const again = await signer.sign(
    {
      method: req.method,
      protocol: 'https:',
      hostname: req.host,
      path: path!,
      query: Object.fromEntries(new URLSearchParams(query)),
      headers,
      body: req.body,
    },
    { signingDate: new Date(when) },
  );
  return again.headers.authorization === req.headers.authorization ? undefined : 'SignatureDoesNotMatch';
}

const xmlError = (code: string) =>
  `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code>` +
  `<Message>${code}</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`;

export async function startStsStandIn(identities: StandInIdentity[]): Promise<StsStandIn> {
  const byKey = new Map(identities.map((i) => [i.accessKeyId, i]));
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        s.calls++;
        s.seen.push({ method: req.method ?? '', headers: req.headers, body });
        const answer = (status: number, xml: string): void => {
          res.writeHead(status, { 'content-type': 'text/xml' }).end(xml);
        };
        if (s.failWith !== undefined) return answer(s.failWith, xmlError('ServiceUnavailable'));
        const headers = Object.fromEntries(
          Object.entries(req.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])),
        );
        const problem = await verifySigV4(
          { method: req.method ?? '', host: req.headers.host ?? '', path: req.url ?? '/', headers, body },
          (k) => byKey.get(k),
          'sts',
        );
        if (problem) return answer(403, xmlError(problem));
        const form = new URLSearchParams(body);
        if (form.get('Action') !== 'GetCallerIdentity') return answer(400, xmlError('InvalidAction'));
        const id = byKey.get(/Credential=([^/]+)/.exec(headers.authorization!)![1]!)!;
        answer(
          200,
          `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>${id.arn}</Arn>
    <UserId>${id.userId}</UserId>
    <Account>${id.account}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`,
        );
      })();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const s: StsStandIn = {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: 0,
    seen: [],
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
  return s;
}
