/**
 * Console sign-in through the admin issuer: authorization code + PKCE (S256) with openid-client.
 * The PKCE verifier and state wait in a short-lived HttpOnly cookie on /ui/auth, SameSite=Lax so
 * it comes back on the issuer's top-level redirect (Strict would drop it when the issuer is
 * another site); the session cookie it leads to is Strict.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import type { ConsoleOidcConfig } from '../config/types.js';
import { InvalidRequest, Unavailable } from '../errors.js';
import { isLoopbackHost } from '../identity/loopback.js';

const TXN_COOKIE = 'snowgate_signin';
const TXN_PATH = '/ui/auth';
const TXN_SECONDS = 600;
const DISCOVERY_TIMEOUT_SECONDS = 5;

interface Transaction {
  verifier: string;
  state: string;
  redirectUri: string;
}

export class ConsoleSignIn {
  #config: Promise<oidc.Configuration> | undefined;

  constructor(
    private readonly issuer: string,
    private readonly client: ConsoleOidcConfig,
  ) {}

  /** Discovered on first use and kept; a failure is retried on the next sign-in. */
  #discover(): Promise<oidc.Configuration> {
    this.#config ??= (async () => {
      const server = new URL(this.issuer);
      const insecureOk = server.protocol === 'http:' && isLoopbackHost(server.hostname);
      const auth =
        this.client.clientSecret !== undefined ? oidc.ClientSecretBasic(this.client.clientSecret) : oidc.None();
      return oidc.discovery(server, this.client.clientId, undefined, auth, {
        timeout: DISCOVERY_TIMEOUT_SECONDS,
        ...(insecureOk ? { execute: [oidc.allowInsecureRequests] } : {}),
      });
    })().catch((e: unknown) => {
      this.#config = undefined;
      throw unreachable(this.issuer, e);
    });
    return this.#config;
  }

  #redirectUri(req: FastifyRequest): string {
    return this.client.redirectUri ?? `${req.protocol}://${req.host}/ui/auth/callback`;
  }

  #resource(): Record<string, string> {
    return this.client.resource !== undefined ? { resource: this.client.resource } : {};
  }

  /** GET /ui/auth/login: off to the issuer. */
  async start(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const config = await this.#discover();
    const txn: Transaction = {
      verifier: oidc.randomPKCECodeVerifier(),
      state: oidc.randomState(),
      redirectUri: this.#redirectUri(req),
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: txn.redirectUri,
      scope: this.client.scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(txn.verifier),
      code_challenge_method: 'S256',
      state: txn.state,
      ...this.#resource(),
    });
    void reply.setCookie(TXN_COOKIE, Buffer.from(JSON.stringify(txn)).toString('base64url'), {
      httpOnly: true,
      sameSite: 'lax',
      secure: req.protocol === 'https',
      path: TXN_PATH,
      maxAge: TXN_SECONDS,
    });
    return reply.redirect(url.href, 303);
  }

  /** GET /ui/auth/callback: the code for an access token (the caller checks its role). */
  async finish(req: FastifyRequest, reply: FastifyReply): Promise<string> {
    const txn = readTransaction(req.cookies[TXN_COOKIE]);
    void reply.clearCookie(TXN_COOKIE, { path: TXN_PATH });
    const query = req.query as Record<string, unknown>;
    if (typeof query.error === 'string') {
      const why = typeof query.error_description === 'string' ? `: ${query.error_description}` : '';
      throw new InvalidRequest(`the issuer refused the sign-in (${query.error}${why})`);
    }
    if (txn === undefined)
      throw new InvalidRequest('no sign-in in progress in this browser (or it took over 10 minutes)');
    const config = await this.#discover();
    // The URL the issuer sent the browser to: the registered redirect URI plus its query.
    const current = new URL(txn.redirectUri);
    current.search = new URL(req.url, 'http://x').search;
    let tokens;
    try {
      tokens = await oidc.authorizationCodeGrant(
        config,
        current,
        { pkceCodeVerifier: txn.verifier, expectedState: txn.state },
        this.#resource(),
      );
    } catch (e) {
      if (e instanceof oidc.ResponseBodyError || e instanceof oidc.AuthorizationResponseError) {
        throw new InvalidRequest(
          `the issuer refused the sign-in (${e.error}${e.error_description ? `: ${e.error_description}` : ''})`,
        );
      }
      // fetch's own failure: the issuer is down or unreachable, which a retry may cure.
      if (e instanceof TypeError) throw unreachable(this.issuer, e);
      throw new InvalidRequest(`sign-in failed: ${(e as Error).message}`);
    }
    return tokens.access_token;
  }
}

function unreachable(issuer: string, e: unknown): Unavailable {
  const err = new Unavailable(`the admin issuer ${issuer} cannot be reached: ${(e as Error).message}`);
  err.retryAfterSeconds = 5;
  return err;
}

function readTransaction(raw: string | undefined): Transaction | undefined {
  if (raw === undefined) return undefined;
  try {
    const t = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<Transaction>;
    if (typeof t.verifier === 'string' && typeof t.state === 'string' && typeof t.redirectUri === 'string') {
      return { verifier: t.verifier, state: t.state, redirectUri: t.redirectUri };
    }
  } catch {
    // a cookie that is not ours: as if there were none
  }
  return undefined;
}
