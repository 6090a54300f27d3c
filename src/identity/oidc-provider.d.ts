/**
 * oidc-provider 9 ships no type declarations. These cover only what the dev issuer uses, so a
 * misspelt option is a compile error rather than a silently ignored setting.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  import type { JWK } from 'jose';

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    grant_types: string[];
    response_types: string[];
    redirect_uris: string[];
    token_endpoint_auth_method?: string;
  }

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg: string; kid?: string } };
  }

  export interface Client {
    readonly clientId: string;
  }

  /** The token being issued, as extraTokenClaims sees it. */
  export interface IssuedToken {
    readonly kind: string;
    readonly clientId?: string;
  }

  export interface AdapterPayload {
    [key: string]: unknown;
    grantId?: string;
    uid?: string;
    userCode?: string;
    consumed?: number;
  }

  /** The storage port: one instance per model name (Session, Grant, ClientCredentials, ...). */
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  /** The Koa context; the dev issuer only sets a response on it. */
  export interface KoaContextWithOIDC {
    type: string;
    body: unknown;
    status: number;
  }

  export interface Configuration {
    adapter?: (name: string) => Adapter;
    clients?: ClientMetadata[];
    jwks?: { keys: JWK[] };
    clientBasedCORS?: (ctx: KoaContextWithOIDC, origin: string, client: Client) => boolean;
    renderError?: (ctx: KoaContextWithOIDC, out: Record<string, string>, error: Error) => void | Promise<void>;
    findAccount?: (ctx: KoaContextWithOIDC, sub: string) => Account | undefined;
    extraTokenClaims?: (
      ctx: KoaContextWithOIDC,
      token: IssuedToken,
    ) => Record<string, unknown> | undefined | Promise<Record<string, unknown> | undefined>;
    ttl?: Partial<
      Record<
        'ClientCredentials' | 'AccessToken' | 'IdToken' | 'AuthorizationCode' | 'Interaction' | 'Session' | 'Grant',
        number
      >
    >;
    features?: {
      devInteractions?: { enabled: boolean };
      clientCredentials?: { enabled: boolean };
      introspection?: { enabled: boolean };
      revocation?: { enabled: boolean };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (ctx: KoaContextWithOIDC, client: Client, oneOf?: string[]) => string | string[] | undefined;
        useGrantedResource?: (ctx: KoaContextWithOIDC, model: unknown) => boolean;
        getResourceServerInfo?: (
          ctx: KoaContextWithOIDC,
          resourceIndicator: string,
          client: Client,
        ) => ResourceServerInfo | Promise<ResourceServerInfo>;
      };
    };
  }

  export interface Account {
    accountId: string;
    claims(): Record<string, unknown>;
  }

  /** An authorization request waiting at /interaction/:uid for login and consent. */
  export interface Interaction {
    uid: string;
    grantId?: string;
    params: Record<string, unknown>;
    prompt: {
      name: string;
      details: {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
    };
  }

  export class Grant {
    constructor(init: { accountId: string; clientId: string });
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    readonly Grant: typeof Grant & { find(id: string): Promise<Grant | undefined> };
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: { login?: { accountId: string }; consent?: { grantId: string } },
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: 'server_error', listener: (ctx: KoaContextWithOIDC, error: Error) => void): this;
  }

  export namespace errors {
    class OIDCProviderError extends Error {
      readonly status: number;
      readonly error: string;
      readonly error_description?: string;
    }
    class InvalidTarget extends OIDCProviderError {
      constructor(description?: string);
    }
  }
}
