import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Configuration } from 'oidc-provider';
import { loadSigningKeys } from './dev-issuer-keys.js';
import { devLoginHandler } from './dev-issuer-login.js';
import { memoryStorage } from './dev-issuer-storage.js';
import { isLoopbackHost } from './loopback.js';
import { loadOidcProvider, type OidcProvider } from './oidc-provider-module.js';

/** The audience every dev token carries: what a snowgate issuer config lists under `audience`. */
export const DEV_AUDIENCE = 'snowgate';
/**
 * The resource indicator (RFC 8707) naming snowgate. oidc-provider requires an absolute URI
 * here, while the token's `aud` stays the plain DEV_AUDIENCE; it is also the default, so a
 * client need not send `resource` at all.
 */
export const DEV_RESOURCE = 'urn:snowgate';
const TOKEN_TTL_SECONDS = 3600;

export interface DevClient {
  clientId: string;
  clientSecret: string;
  /** Added to every token of this client, e.g. `{ groups: ['snowgate-admins'] }`; cannot replace registered claims. */
  claims?: Record<string, unknown>;
}

/**
 * A browser client (the operator console) that signs in with authorization code + PKCE. The dev
 * issuer has no login form: every sign-in through it is `accountId` at once, which is what makes
 * sign-in one click in `snowgate dev`. Loopback only, like the issuer itself.
 */
export interface DevBrowserClient {
  clientId: string;
  redirectUris: string[];
  /** The `sub` of every token this client gets. */
  accountId: string;
  /** Added to every token of this client, as for DevClient. */
  claims?: Record<string, unknown>;
}

export interface DevIssuerOptions {
  /** A loopback address (default 127.0.0.1): the issuer URL's host; the issuer speaks plain http. */
  host?: string;
  /**
   * The address the socket binds, when it is not `host`: 0.0.0.0 in a container that shares the
   * registry's network namespace (docker-compose.yml's dev profile), so a published port
   * reaches it while the issuer URL, in every token, stays on loopback.
   */
  listen?: string;
  /** Default 0, any free port. Give the same port on a restart, or earlier tokens name another issuer. */
  port?: number;
  /** Where the private signing JWKS is kept (0600); without it keys live only as long as the process. */
  jwksFile?: string;
  clients: DevClient[];
  browserClients?: DevBrowserClient[];
  /** Where oidc-provider's internal errors go (default console.error). */
  onError?: (error: Error) => void;
}

export interface DevIssuer {
  issuer: string;
  tokenEndpoint: string;
  close(): Promise<void>;
}

/**
 * The development OIDC issuer of `snowgate dev`: a real oidc-provider that hands each client a
 * JWT access token for snowgate through the client_credentials grant, with `sub` = client id,
 * and signs browser clients in through authorization code + PKCE without asking anything.
 * Nothing else is enabled: no login form, introspection or revocation.
 */
export async function startDevIssuer(opts: DevIssuerOptions): Promise<DevIssuer> {
  const host = opts.host ?? '127.0.0.1';
  const urlHost = host.includes(':') ? `[${host}]` : host;
  if (!isLoopbackHost(host)) {
    throw new Error(`the dev issuer speaks plain http, so it listens on loopback only, not ${host}`);
  }
  const [oidc, jwks] = await Promise.all([loadOidcProvider(), loadSigningKeys(opts.jwksFile)]);

  // The issuer URL holds the port, so the socket is bound before the provider exists.
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.listen ?? host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const issuer = `http://${urlHost}:${(server.address() as AddressInfo).port}`;

  const browserClients = opts.browserClients ?? [];
  const provider = new oidc.default(issuer, providerConfiguration(oidc, opts.clients, browserClients, jwks));
  const onError = opts.onError ?? ((e: Error) => console.error('dev issuer:', e));
  provider.on('server_error', (_ctx, error) => onError(error));
  server.on('request', devLoginHandler(provider, browserClients, onError));

  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        // Keep-alive sockets of earlier clients would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

function providerConfiguration(
  { errors }: OidcProvider,
  clients: DevClient[],
  browserClients: DevBrowserClient[],
  jwks: Configuration['jwks'],
): Configuration {
  const claimsOf = new Map([...clients, ...browserClients].map((c) => [c.clientId, c.claims ?? {}]));
  const accounts = new Set(browserClients.map((c) => c.accountId));
  return {
    adapter: memoryStorage(),
    jwks,
    clients: [
      ...clients.map((c) => ({
        client_id: c.clientId,
        client_secret: c.clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      })),
      // Public clients: PKCE (S256, which oidc-provider requires of them) stands in for a secret.
      ...browserClients.map((c) => ({
        client_id: c.clientId,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: c.redirectUris,
        token_endpoint_auth_method: 'none',
      })),
    ],
    // oidc-provider puts the client id in `sub` for client_credentials and spreads these claims
    // before its own, so a client's claims can add groups but never change sub, iss, aud or exp.
    extraTokenClaims: (_ctx, token) => (token.clientId === undefined ? undefined : claimsOf.get(token.clientId)),
    ttl: {
      ClientCredentials: TOKEN_TTL_SECONDS,
      AccessToken: TOKEN_TTL_SECONDS,
      IdToken: TOKEN_TTL_SECONDS,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: TOKEN_TTL_SECONDS,
      Grant: TOKEN_TTL_SECONDS,
    },
    // Browsers only pass through its authorization endpoint; no script calls it: no CORS, and errors as JSON.
    clientBasedCORS: () => false,
    renderError: (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
    findAccount: (_ctx, sub) => (accounts.has(sub) ? { accountId: sub, claims: () => ({ sub }) } : undefined),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => DEV_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== DEV_RESOURCE) throw new errors.InvalidTarget(`the only resource here is ${DEV_RESOURCE}`);
          return {
            audience: DEV_AUDIENCE,
            scope: '',
            accessTokenFormat: 'jwt',
            accessTokenTTL: TOKEN_TTL_SECONDS,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  };
}
