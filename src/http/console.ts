/**
 * The operator console at /ui/: its built files, its session and its sign-in. The console has no
 * API of its own: it calls /v1/ as the signed-in admin, through the session cookie.
 */
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { decodeJwt } from 'jose';
import Type, { type Static } from 'typebox';
import type { ConsoleConfig } from '../config/types.js';
import { Forbidden, InvalidRequest, NotFound, SnowgateError } from '../errors.js';
import type { AuthPort } from './ports.js';
import { loadAssets, type Asset } from './console-assets.js';
import { ConsoleSignIn } from './console-oidc.js';
import {
  checkedSession,
  clearSession,
  csrfOf,
  etagged,
  sessionAsBearer,
  sessionToken,
  setSession,
} from './console-session.js';

export interface ConsoleDeps {
  config: ConsoleConfig;
  /** The admin issuer's name and URL, when sign-in through it is configured. */
  adminIssuer?: { name: string; issuer: string };
  auth: AuthPort;
  /** The built console; default dist/ui. */
  assets?: Map<string, Asset>;
}

/** No inline script or style, nothing from elsewhere, no framing. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TokenBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 16 * 1024 }) },
  { additionalProperties: false },
);

function securityHeaders(reply: FastifyReply): void {
  void reply.headers({
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  });
}

function sendAsset(reply: FastifyReply, req: FastifyRequest, asset: Asset): FastifyReply {
  void reply.header('etag', asset.etag).header('cache-control', asset.cacheControl);
  if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.type(asset.type).send(asset.body);
}

/** How long a session may last: the configured length, or less when the token expires sooner. */
function sessionSeconds(token: string, ttlMs: number): number {
  let exp: number | undefined;
  try {
    exp = decodeJwt(token).exp;
  } catch {
    // not a JWT (the bootstrap token): the configured length
  }
  const ttl = ttlMs / 1000;
  return exp === undefined ? ttl : Math.min(ttl, exp - Date.now() / 1000);
}

/** A page that moves on to the console: a same-site navigation, so the new Strict cookie goes with it. */
const SIGNED_IN_PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/ui/">' +
  '<title>Signed in: snowgate</title></head><body><p><a href="/ui/">Signed in: on to the console</a></p></body></html>';

async function consolePlugin(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const { config, auth } = deps;
  const assets = deps.assets ?? loadAssets();
  const signIn = config.oidc && deps.adminIssuer ? new ConsoleSignIn(deps.adminIssuer.issuer, config.oidc) : undefined;

  await app.register(cookie);
  app.addHook('onRequest', sessionAsBearer);
  app.addHook('onSend', etagged);

  await app.register(async (ui) => {
    ui.addHook('onRequest', async (_req, reply) => securityHeaders(reply));
    const hide = { hide: true };

    ui.get('/ui', { schema: hide }, async (_req, reply) => reply.redirect('/ui/', 308));
    ui.get('/ui/', { schema: hide }, async (req, reply) => {
      const index = assets.get('index.html');
      if (!index) throw new NotFound('the console is not built: run npm run build');
      return sendAsset(reply, req, index);
    });
    ui.get<{ Params: { '*': string } }>('/ui/*', { schema: hide }, async (req, reply) => {
      const asset = assets.get(req.params['*']);
      if (!asset) throw new NotFound(`no console file ${req.params['*']}`);
      return sendAsset(reply, req, asset);
    });

    const signInOptions = { oidc: signIn ? deps.adminIssuer!.name : null };

    /** Who may use the console: an admin, or a viewer, who sees everything and changes nothing (the API refuses). */
    const roleOf = async (token: string): Promise<{ actor: string; role: 'admin' | 'viewer' }> => {
      const actor = await auth.admin(`Bearer ${token}`, 'viewer');
      const admin = await auth.admin(`Bearer ${token}`).then(
        () => true,
        (e: unknown) => (e instanceof Forbidden ? false : Promise.reject(e as Error)),
      );
      return { actor: actor.kind === 'admin' ? actor.name : 'unknown', role: admin ? 'admin' : 'viewer' };
    };

    ui.get('/ui/session', { schema: hide }, async (req, reply) => {
      void reply.header('cache-control', 'no-store');
      const token = sessionToken(req);
      if (token === undefined) return { signedIn: false, signIn: signInOptions };
      try {
        const who = await roleOf(token);
        let exp: number | undefined;
        try {
          exp = decodeJwt(token).exp;
        } catch {
          // the bootstrap token
        }
        return {
          signedIn: true,
          ...who,
          csrf: csrfOf(token),
          expiresAt: exp === undefined ? null : new Date(exp * 1000).toISOString(),
          signIn: signInOptions,
        };
      } catch (e) {
        if (!(e instanceof SnowgateError) || e.status >= 500) throw e;
        clearSession(req, reply);
        return { signedIn: false, reason: e.message, signIn: signInOptions };
      }
    });

    ui.post<{ Body: Static<typeof TokenBody> }>(
      '/ui/session',
      { schema: { ...hide, body: TokenBody } },
      async (req, reply) => {
        const origin = req.headers.origin;
        if (origin !== undefined && origin !== `${req.protocol}://${req.host}`) {
          throw new InvalidRequest('sign-in from another origin');
        }
        const who = await roleOf(req.body.token);
        setSession(req, reply, req.body.token, sessionSeconds(req.body.token, config.sessionTtlMs));
        void reply.header('cache-control', 'no-store');
        return { signedIn: true, ...who, csrf: csrfOf(req.body.token) };
      },
    );

    ui.delete('/ui/session', { schema: hide }, async (req, reply) => {
      checkedSession(req);
      clearSession(req, reply);
      return reply.code(204).send();
    });

    ui.get('/ui/auth/login', { schema: hide }, async (req, reply) => {
      if (!signIn) throw new NotFound('sign-in through an issuer is not configured (console.oidc)');
      return signIn.start(req, reply);
    });

    ui.get('/ui/auth/callback', { schema: hide }, async (req, reply) => {
      if (!signIn) throw new NotFound('sign-in through an issuer is not configured (console.oidc)');
      try {
        const accessToken = await signIn.finish(req, reply);
        await roleOf(accessToken);
        setSession(req, reply, accessToken, sessionSeconds(accessToken, config.sessionTtlMs));
      } catch (e) {
        if (!(e instanceof SnowgateError) || e.status >= 500) throw e;
        return reply.redirect(`/ui/?signin_error=${encodeURIComponent(e.message)}`, 303);
      }
      return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(SIGNED_IN_PAGE);
    });
  });
}

/** Registered at the root (fastify-plugin), so its cookie hook sees the /v1/ routes too. */
export const consoleRoutes = fp(consolePlugin, { name: 'snowgate-console' });
