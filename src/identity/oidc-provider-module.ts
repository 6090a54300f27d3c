import type * as OidcProviderModule from 'oidc-provider';

export type OidcProvider = typeof OidcProviderModule;

let loading: Promise<OidcProvider> | undefined;

/**
 * Loads oidc-provider on first use only, so the registry does not pay for it unless the dev
 * issuer runs. On import it warns that Node.js 20 is unsupported; snowgate supports Node.js 20
 * and tests the dev issuer on it, so that one line (and nothing else) is dropped.
 */
export function loadOidcProvider(): Promise<OidcProvider> {
  loading ??= importQuietly().catch((e: unknown) => {
    loading = undefined;
    throw e;
  });
  return loading;
}

async function importQuietly(): Promise<OidcProvider> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    const first = args[0];
    if (typeof first === 'string' && first.includes('oidc-provider WARNING: Unsupported runtime')) return;
    warn(...args);
  };
  try {
    return await import('oidc-provider');
  } finally {
    console.warn = warn;
  }
}
