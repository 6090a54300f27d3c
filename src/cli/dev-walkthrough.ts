import { shellQuote } from './options.js';

export interface WalkthroughInput {
  registry: string;
  issuer: string;
  tokenEndpoint: string;
  dataDir: string;
  /** Where the commands are to run: npx finds this package's bin there (elsewhere it asks npm). */
  cwd: string;
  secrets: { service: string; admin: string };
  /** `sentinelFile`: nats-server 2.10+ with the auth callout on. */
  nats?: { url: string; logFile: string; version?: string; sentinelFile?: string };
}

// Plain sed rather than jq: it is everywhere, and the token endpoint answers compact JSON.
const ACCESS_TOKEN = `sed -E 's/.*"access_token":"([^"]+)".*/\\1/'`;

function tokenCurl(endpoint: string, client: string, secret: string): string {
  return `curl -s -u ${shellQuote(`${client}:${secret}`)} -d grant_type=client_credentials ${shellQuote(endpoint)} | ${ACCESS_TOKEN}`;
}

/** What `snowgate dev` prints once up: where things are, then commands to copy and paste. */
export function walkthrough(i: WalkthroughInput): string {
  const reg = shellQuote(i.registry);
  return [
    '',
    'snowgate dev is up (Ctrl-C stops it)',
    `  registry  ${i.registry}   (API description: ${i.registry}/openapi.json)`,
    `  console   ${i.registry}/ui/   (operator console: "Sign in with dev" is one click)`,
    `  issuer    ${i.issuer}   (dev OIDC issuer; clients dev-service and dev-admin)`,
    `  data      ${i.dataDir}`,
    i.nats
      ? `  nats      ${i.nats.url}   (log: ${i.nats.logFile})`
      : '  nats      not running: nats-server is not on PATH (apt-get install nats-server), so leases come without NATS credentials',
    ...(i.nats
      ? [
          i.nats.sentinelFile
            ? `  mode      nats-server ${i.nats.version ?? ''}: auth callout on; any NATS client connects with its token (step 5)`
            : `  mode      nats-server ${i.nats.version ?? ''}: lease credentials only; the auth callout needs 2.10+ (SNOWGATE_NATS_SERVER_210)`,
        ]
      : []),
    '',
    `Commands to copy, in another terminal in ${i.cwd}:`,
    '',
    '# 1. a workload token (client_credentials, audience snowgate, valid 1 h):',
    `TOKEN=$(${tokenCurl(i.tokenEndpoint, 'dev-service', i.secrets.service)})`,
    '',
    '# 2. lease a node with it:',
    `curl -s -X POST ${reg}/v1/leases -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"pool":"default","instance":"demo-1"}'`,
    '',
    i.nats ? '#    or hold one, renewed, with its NATS credentials in demo.creds:' : '#    or hold one, renewed:',
    '#    (it runs in the foreground, renewing, until Ctrl-C releases the lease)',
    'echo "$TOKEN" > token',
    `npx snowgate lease --registry ${reg} --token-file token --instance demo-1${i.nats ? ' --creds-file demo.creds' : ''}`,
    '',
    '# 3. an admin token (groups: [snowgate-admins]) and what it sees:',
    `ADMIN=$(${tokenCurl(i.tokenEndpoint, 'dev-admin', i.secrets.admin)})`,
    // A file rather than --token, which would show the token to anyone running ps.
    'echo "$ADMIN" > admin-token',
    `npx snowgate admin --registry ${reg} --token-file admin-token leases`,
    `curl -s ${reg}/v1/admin/audit -H "authorization: Bearer $ADMIN"`,
    '',
    ...(i.nats
      ? [`# 4. a NATS client with demo.creds: README.md, "Connect a NATS client with the lease's credentials"`, '']
      : []),
    ...(i.nats?.sentinelFile
      ? [
          '# 5. or connect with the token alone (a reader; README.md, "Connect with your token"):',
          `nats --server ${shellQuote(i.nats.url)} --creds ${shellQuote(i.nats.sentinelFile)} --token "$TOKEN" sub 'ids.default.>'`,
          '',
        ]
      : []),
  ].join('\n');
}
