import { allowInsecureRequests, discovery } from 'openid-client';
import { isLoopbackHost } from './loopback.js';

/**
 * Finds an issuer's JWKS through OpenID Connect discovery. openid-client checks that the
 * metadata names the same issuer, so a document served for someone else is refused.
 */
export async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<URL> {
  const server = new URL(issuer);
  const insecureOk = server.protocol === 'http:' && isLoopbackHost(server.hostname);
  const config = await discovery(server, 'snowgate', undefined, undefined, {
    timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
    ...(insecureOk ? { execute: [allowInsecureRequests] } : {}),
  });
  const advertised = config.serverMetadata().jwks_uri;
  if (!advertised) throw new Error(`${issuer} publishes no jwks_uri`);
  const jwksUri = new URL(advertised);
  // An https issuer must not send us to fetch its keys over plain http.
  const ok =
    jwksUri.protocol === 'https:' || (insecureOk && jwksUri.protocol === 'http:' && isLoopbackHost(jwksUri.hostname));
  if (!ok) throw new Error(`${issuer} publishes an insecure jwks_uri`);
  return jwksUri;
}
