import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { DevBrowserClient } from './dev-issuer.js';

/**
 * The dev issuer's interaction step, answered at once: a browser client's user is its account,
 * and every scope and resource it asked for is granted. Everything else goes to oidc-provider.
 */
export function devLoginHandler(
  provider: Provider,
  browserClients: DevBrowserClient[],
  onError: (e: Error) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  const oidc = provider.callback();
  const accountOf = new Map(browserClients.map((c) => [c.clientId, c.accountId]));
  return (req, res) => {
    if (!req.url?.startsWith('/interaction/')) return oidc(req, res);
    finish(provider, accountOf, req, res).catch((e: unknown) => {
      onError(e as Error);
      if (!res.headersSent) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'invalid_request', error_description: (e as Error).message }));
      }
    });
  };
}

async function finish(
  provider: Provider,
  accountOf: Map<string, string>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const interaction = await provider.interactionDetails(req, res);
  const clientId = String(interaction.params.client_id);
  const accountId = accountOf.get(clientId);
  if (accountId === undefined) throw new Error(`client ${clientId} cannot sign users in here`);
  const grant =
    (interaction.grantId !== undefined ? await provider.Grant.find(interaction.grantId) : undefined) ??
    new provider.Grant({ accountId, clientId });
  const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = interaction.prompt.details;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
  if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
  for (const [resource, scopes] of Object.entries(missingResourceScopes ?? {})) {
    grant.addResourceScope(resource, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}
