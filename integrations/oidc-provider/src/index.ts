/**
 * OAuth Usage for oidc-provider: every token the provider issues is registered with the service
 * before the token response leaves the provider (fail closed), every refresh token is checked
 * with the service before it is accepted, and the provider's own revocations are forwarded.
 *
 *   const usage = oauthUsage({ baseUrl, token: serviceToken });
 *   const provider = new Provider(issuer, usage.configure(configuration));
 *   usage.install(provider);
 *
 * Three hooks, because oidc-provider has no single one: its `*.saved` events are not awaited, so
 * the registration is a post-middleware on the token endpoint (it sees every value, JWT access
 * tokens included, and can still replace the answer with an error); the adapter's `find` is the
 * only hook that runs before a refresh grant mints anything; its `destroy` / `revokeByGrantId`
 * are where RFC 7009, logout and grant revocation end tokens at the provider.
 */
import Provider, { errors, type Adapter, type AdapterConstructor, type AdapterFactory, type AdapterPayload, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';
import { createClient, OAuthUsageError, type OAuthUsageClient, type Schemas } from '@oauth-usage/client';

export interface OAuthUsageOptions {
  /** The service's base URL. */
  baseUrl: string;
  /** The provider's own bearer token for the service (scopes `tokens:write tokens:introspect`): a string, or a function asked before every call. */
  token: string | (() => string | Promise<string>);
  /** The display name registered with a user's tokens (default: the account's `name` claim, if any). */
  userName?: (ctx: KoaContextWithOIDC, accountId: string) => string | undefined | Promise<string | undefined>;
  /** How long a client's settings and policies are taken as known, in seconds (default 60). */
  cacheSeconds?: number;
  /** Attempts of a registration the network lost (default 3; a registration is idempotent). */
  attempts?: number;
  /** A fetch to use instead of the global one. */
  fetch?: (request: Request) => Promise<Response>;
}

type Policies = Schemas['AppPolicies'];
type Registration = Schemas['TokenRegistration'];
type Issued = AdapterPayload & { jti?: string; iat?: number; exp?: number; consumed?: unknown; grantId?: string; clientId?: string };
interface TokenEntity { jti: string; iat?: number; exp?: number; expiration?: number; scope?: string; accountId?: string; grantId?: string; jkt?: string; 'x5t#S256'?: string; resourceServer?: { audience?: string | string[] }; format?: string }
interface TokenBody { access_token: string; refresh_token?: string; expires_in?: number; [key: string]: unknown }

/** The models whose records are tokens the service knows: checked on find, forwarded on destroy. */
const TOKEN_MODELS: Record<string, 'access_token' | 'refresh_token'> = { AccessToken: 'access_token', ClientCredentials: 'access_token', RefreshToken: 'refresh_token' };
/** The plug-in's own records, in the provider's storage: each grant's tokens to revoke at the service when the provider revokes the grant. */
const GRANT_MODEL = 'OAuthUsageGrant';
/** Refusals that end the grant: the client gets `invalid_grant` (`unauthorized_client` for its own tokens), the provider's grant is revoked too. */
const REFUSALS = new Set(['token-revoked', 'app-blocked', 'user-blocked', 'parent-token-inactive', 'refresh-token-reused', 'user-not-approved']);

const isoOf = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString();
const scopesOf = (scope: string | undefined) => (scope ?? '').split(' ').filter(Boolean);
const isConstructor = (adapter: AdapterConstructor | AdapterFactory): adapter is AdapterConstructor => /^class[\s{]/.test(Function.prototype.toString.call(adapter));
const routeOf = () => Provider.ctx?.oidc?.route;

/** The provider's answer when the service cannot be asked: 503 `temporarily_unavailable` with Retry-After (oidc-provider hides 5xx errors unless exposed). */
function unavailable(cause: unknown): Error {
  Provider.ctx?.set('Retry-After', '5');
  return Object.assign(new errors.OIDCProviderError(503, 'temporarily_unavailable'), { expose: true, cause, error_description: 'OAuth Usage could not be reached; try again' });
}
/** A call to the service, its failure the provider's 503. */
async function orUnavailable<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw unavailable(error);
  }
}

export function oauthUsage(options: OAuthUsageOptions) {
  const service: OAuthUsageClient = createClient({ baseUrl: options.baseUrl, token: options.token, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const cacheMs = (options.cacheSeconds ?? 60) * 1000;
  const attempts = options.attempts ?? 3;
  /** The provider's adapters as they are, by model: what the plug-in itself destroys is not forwarded. */
  const plain = new Map<string, Adapter>();
  const plainAdapter = (name: string) => plain.get(name) as Adapter;
  let provider: Provider | undefined;

  // ---- Clients and their policies -----------------------------------------------------------
  const apps = new Map<string, { settings: string; at: number; policies: Policies; pending?: Promise<Policies> }>();
  /** PUT /v1/apps/{clientId} when the client's settings changed (or were never sent), then its policies; cached for cacheSeconds. */
  async function appOf(client: { clientId: string; clientName?: string; redirectUris?: readonly string[]; scope?: string }): Promise<Policies> {
    const settings = {
      name: client.clientName ?? client.clientId,
      callbackUrls: (client.redirectUris ?? []).filter((u) => /^https?:\/\//.test(u) && !u.includes('#')),
      ...(client.scope ? { scopes: scopesOf(client.scope) } : {}),
    };
    const key = JSON.stringify(settings);
    const known = apps.get(client.clientId);
    if (known && known.settings === key && Date.now() - known.at < cacheMs) return known.policies;
    if (known?.pending) return known.pending;
    const pending = (async () => {
      if (known?.settings !== key) await service.PUT('/v1/apps/{appId}', { params: { path: { appId: client.clientId } }, body: settings });
      const policies = await service.GET('/v1/apps/{appId}/policies', { params: { path: { appId: client.clientId } } });
      apps.set(client.clientId, { settings: key, at: Date.now(), policies });
      return policies;
    })();
    apps.set(client.clientId, { ...(known ?? { settings: '', at: 0, policies: undefined as unknown as Policies }), pending });
    try {
      return await pending;
    } catch (error) {
      if (known) apps.set(client.clientId, known);
      else apps.delete(client.clientId);
      throw error;
    }
  }
  /** The policies known for a client now (oidc-provider asks for a token's lifetime synchronously). */
  const knownPolicies = (clientId: string) => apps.get(clientId)?.policies;
  async function warm(clientId: string | undefined) {
    if (!clientId || !provider) return;
    const client = await provider.Client.find(clientId);
    if (client) await orUnavailable(appOf(client));
  }

  // ---- Revocations made at the provider ----------------------------------------------------
  /** Revocations in flight, so that one grant revoked through several models is forwarded once. */
  const inFlight = new Map<string, Promise<void>>();
  const once = (key: string, work: () => Promise<void>) => {
    const running = inFlight.get(key) ?? work().finally(() => inFlight.delete(key));
    inFlight.set(key, running);
    return running;
  };
  const revokeAtService = (token: string, hint: 'access_token' | 'refresh_token') =>
    once(`token:${token}`, async () => { await service.POST('/oauth2/revoke', { body: { token, token_type_hint: hint } }); });
  const revokeGrantAtService = (grantId: string) => once(`grant:${grantId}`, async () => {
    const grant = (await plainAdapter(GRANT_MODEL).find(grantId)) as { tokens?: { value: string; hint: 'access_token' | 'refresh_token' }[] } | undefined;
    for (const { value, hint } of grant?.tokens ?? []) await revokeAtService(value, hint);
    await plainAdapter(GRANT_MODEL).destroy(grantId);
  });
  /** Ends a grant at the provider only (the service already refused it). */
  async function endGrantAtProvider(grantId: string | undefined) {
    if (!grantId) return;
    await Promise.all(['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest'].map(async (name) => { await plain.get(name)?.revokeByGrantId(grantId); }));
    await Promise.all([plain.get('Grant')?.destroy(grantId), plainAdapter(GRANT_MODEL).destroy(grantId)]);
  }

  // ---- The adapter ---------------------------------------------------------------------------
  function wrapAdapter(configured: AdapterConstructor | AdapterFactory | undefined): AdapterFactory {
    const factory: AdapterFactory = configured === undefined ? createMemoryAdapter() : isConstructor(configured) ? (name) => new configured(name) : configured;
    if (!plain.has(GRANT_MODEL)) plain.set(GRANT_MODEL, factory(GRANT_MODEL));
    return (name) => {
      const adapter = factory(name);
      plain.set(name, adapter);
      const hint = TOKEN_MODELS[name];
      if (name === 'AuthorizationCode') {
        // A code exchange mints an access token next: its lifetime needs the app's policies now.
        return { ...delegate(adapter), async find(id) { const record = (await adapter.find(id)) as Issued | undefined; await warm(record?.clientId); return record; } };
      }
      if (!hint) return adapter;
      return {
        ...delegate(adapter),
        async find(id) {
          const record = (await adapter.find(id)) as Issued | undefined;
          // Consumed: the provider's reuse detection revokes the grant (forwarded below); expired: refused anyway; revocation: the token is being ended.
          if (!record || record.consumed || (record.exp !== undefined && record.exp * 1000 < Date.now()) || routeOf() === 'revocation' || record.jti !== id) return record;
          const answer = await orUnavailable(service.POST('/oauth2/introspect', { body: { token: id, token_type_hint: hint } }));
          if (answer.active) {
            // A refresh grant mints an access token next: its lifetime needs the app's policies now.
            if (name === 'RefreshToken') await warm(record.clientId);
            return record;
          }
          await endGrantAtProvider(record.grantId);
          await adapter.destroy(id);
          return undefined;
        },
        async destroy(id) {
          await orUnavailable(revokeAtService(id, hint));
          await adapter.destroy(id);
        },
        async revokeByGrantId(grantId) {
          await orUnavailable(revokeGrantAtService(grantId));
          await adapter.revokeByGrantId(grantId);
        },
      };
    };
  }

  // ---- Registration at the token endpoint --------------------------------------------------
  async function register(ctx: KoaContextWithOIDC, body: TokenBody) {
    const { entities, params } = ctx.oidc;
    const client = entities.Client as unknown as { clientId: string; clientName?: string; redirectUris?: readonly string[]; scope?: string };
    const access = (entities.AccessToken ?? entities.ClientCredentials) as unknown as TokenEntity | undefined;
    if (!client || !access) return;
    const refresh = entities.RefreshToken as unknown as TokenEntity | undefined;
    const rotated = entities.RotatedRefreshToken as unknown as TokenEntity | undefined;
    const presented = typeof params?.refresh_token === 'string' ? params.refresh_token : undefined;
    await appOf(client);
    const accountId = access.accountId;
    const userName = accountId ? await (options.userName ?? defaultUserName)(ctx, accountId) : undefined;
    const common = { appId: client.clientId, issuer: (provider as Provider).issuer, ...(accountId ? { userId: accountId, ...(userName ? { userName } : {}) } : {}) };
    const confirmation = (t: TokenEntity) => (t.jkt ? { cnf: { jkt: t.jkt } } : t['x5t#S256'] ? { cnf: { 'x5t#S256': t['x5t#S256'] } } : {});
    const tokens: Registration[] = [];
    // A refresh token is new on a code exchange and on a rotation; without rotation it is the one presented, registered already.
    const newRefresh = body.refresh_token !== undefined && body.refresh_token !== presented ? body.refresh_token : undefined;
    if (newRefresh && refresh) {
      tokens.push({
        ...common, token: newRefresh, type: 'refresh', scopes: scopesOf(refresh.scope), ...confirmation(refresh),
        ...(refresh.iat ? { issuedAt: isoOf(refresh.iat) } : {}), ...(refresh.exp ? { expiresAt: isoOf(refresh.exp) } : {}),
        ...(rotated && presented ? { previousRefreshToken: presented } : {}),
      });
    }
    const iat = access.iat ?? Math.floor(Date.now() / 1000);
    const audience = access.resourceServer?.audience;
    tokens.push({
      ...common, token: body.access_token, type: 'access', scopes: scopesOf(typeof body.scope === 'string' ? body.scope : access.scope), ...confirmation(access),
      issuedAt: isoOf(iat), expiresAt: isoOf(access.exp ?? iat + (access.expiration ?? body.expires_in ?? 3600)),
      ...(audience ? { audience: Array.isArray(audience) ? audience : [audience] } : {}),
      ...(body.refresh_token ? { refreshToken: body.refresh_token } : {}),
    });
    const answer = await registerWithRetries(tokens);
    // The client is told the expiry the service applied (the app's accessTokenLifetimeMinutes).
    const registeredAccess = answer.at(-1);
    if (registeredAccess?.expiresAt) {
      const left = Math.max(0, Math.floor((Date.parse(registeredAccess.expiresAt) - Date.now()) / 1000));
      if (body.expires_in === undefined || left < body.expires_in) body.expires_in = left;
    }
    if (access.grantId) await rememberGrant(access.grantId, body, newRefresh ?? presented);
  }

  async function registerWithRetries(tokens: Registration[]): Promise<Schemas['RegisteredToken'][]> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const answer = await service.POST('/v1/tokens', { body: { tokens } });
        return 'tokens' in answer ? answer.tokens : [answer];
      } catch (error) {
        // Only a lost answer is tried again (the registration is idempotent: a retry of one that committed is a 200).
        if (error instanceof OAuthUsageError || attempt >= attempts) throw error;
      }
    }
  }

  /** What to revoke at the service when the provider revokes this grant: a refresh token of its chain (it takes the grant), else its access tokens. */
  async function rememberGrant(grantId: string, body: TokenBody, refreshToken: string | undefined) {
    const store = plainAdapter(GRANT_MODEL);
    const known = ((await store.find(grantId)) as { tokens?: { value: string; hint: string }[]; exp?: number } | undefined) ?? {};
    const tokens = refreshToken ? [{ value: refreshToken, hint: 'refresh_token' }] : [...(known.tokens ?? []), { value: body.access_token, hint: 'access_token' }].slice(-50);
    const grant = (await plain.get('Grant')?.find(grantId)) as Issued | undefined;
    const expiresIn = grant?.exp ? Math.max(1, grant.exp - Math.floor(Date.now() / 1000)) : 14 * 24 * 3600;
    await store.upsert(grantId, { tokens }, expiresIn);
  }

  /** The provider minted tokens the service refused or could not hear of: they are taken back, and a rotation is undone (on an outage) so the client can try again. */
  async function takeBack(ctx: KoaContextWithOIDC, body: TokenBody, endGrant: boolean) {
    const { entities } = ctx.oidc;
    const access = (entities.AccessToken ?? entities.ClientCredentials) as unknown as TokenEntity | undefined;
    const rotated = entities.RotatedRefreshToken as unknown as TokenEntity | undefined;
    if (access) await plain.get(entities.AccessToken ? 'AccessToken' : 'ClientCredentials')?.destroy(access.jti);
    if (body.refresh_token && body.refresh_token !== ctx.oidc.params?.refresh_token) await plainAdapter('RefreshToken').destroy(body.refresh_token);
    if (endGrant) return endGrantAtProvider(access?.grantId);
    if (rotated) {
      const record = (await plainAdapter('RefreshToken').find(rotated.jti)) as Issued | undefined;
      if (record?.consumed !== undefined) {
        const unconsumed: Issued = { ...record };
        delete unconsumed.consumed;
        await plainAdapter('RefreshToken').upsert(rotated.jti, unconsumed, record.exp ? Math.max(1, record.exp - Math.floor(Date.now() / 1000)) : undefined);
      }
    }
  }

  /** A refusal or an outage, as the token endpoint answers it (RFC 6749 §5.2). */
  function oauthError(ctx: KoaContextWithOIDC, error: unknown) {
    const kind = error instanceof OAuthUsageError ? error.kind : undefined;
    const clientCredentials = ctx.oidc.params?.grant_type === 'client_credentials';
    if (kind && REFUSALS.has(kind)) return { status: 400, error: clientCredentials ? 'unauthorized_client' : 'invalid_grant', description: error instanceof Error ? error.message : kind, endGrant: true };
    if (kind === 'scope-not-allowed') return { status: 400, error: 'invalid_scope', description: (error as Error).message, endGrant: true };
    const retryAfter = error instanceof OAuthUsageError ? error.retryAfterSeconds : undefined;
    return { status: 503, error: 'temporarily_unavailable', description: 'the token could not be recorded; try again', retryAfter: retryAfter ?? 5, endGrant: false };
  }

  /** RFC 7009 at the provider for a JWT access token of the calling client: forwarded to the service (true), or not the client's (false). */
  async function forwardJwtRevocation(ctx: KoaContextWithOIDC): Promise<boolean> {
    const token = ctx.oidc.params?.token;
    if (typeof token !== 'string' || token.split('.').length !== 3) return false;
    let claims: { client_id?: unknown; iss?: unknown };
    try {
      claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      return false;
    }
    // Only the client's own token (a forged one is unknown to the service, which remembers it as revoked and nothing more).
    if (claims.iss !== (provider as Provider).issuer || claims.client_id !== ctx.oidc.client?.clientId) return false;
    await revokeAtService(token, 'access_token');
    return true;
  }

  return {
    /** The configuration with the plug-in's adapter (around yours, or oidc-provider's in-memory one) and access-token lifetimes capped by the app's policies. */
    configure(configuration: Configuration = {}): Configuration {
      const ttl = { ...configuration.ttl };
      const capped = (name: 'AccessToken' | 'ClientCredentials', fallback: number) => {
        const base = ttl[name] as number | ((...args: never[]) => number) | undefined;
        return (ctx: KoaContextWithOIDC, token: TokenEntity, client: { clientId: string }) => {
          const seconds = typeof base === 'function' ? (base as (...a: unknown[]) => number)(ctx, token, client) : base ?? (token.resourceServer as { accessTokenTTL?: number } | undefined)?.accessTokenTTL ?? fallback;
          const minutes = knownPolicies(client.clientId)?.accessTokenLifetimeMinutes;
          return minutes ? Math.min(seconds, minutes * 60) : seconds;
        };
      };
      return {
        ...configuration,
        adapter: wrapAdapter(configuration.adapter),
        ttl: { ...ttl, AccessToken: capped('AccessToken', 3600), ClientCredentials: capped('ClientCredentials', 600) },
      };
    },
    /** Adds the token endpoint's registration and RFC 7009's forwarding to the provider. */
    install(target: Provider) {
      provider = target;
      target.use(async (ctx, next) => {
        await next();
        const oidcCtx = ctx as unknown as KoaContextWithOIDC;
        const route = oidcCtx.oidc?.route;
        if (route === 'token' && ctx.status === 200 && ctx.body && typeof (ctx.body as TokenBody).access_token === 'string') {
          const body = ctx.body as TokenBody;
          try {
            await register(oidcCtx, body);
          } catch (error) {
            const refusal = oauthError(oidcCtx, error);
            await takeBack(oidcCtx, body, refusal.endGrant);
            ctx.status = refusal.status;
            ctx.body = { error: refusal.error, error_description: refusal.description };
            if (refusal.retryAfter !== undefined) ctx.set('Retry-After', String(Math.ceil(refusal.retryAfter)));
          }
        } else if (route === 'revocation' && oidcCtx.oidc.client) {
          // oidc-provider refuses to revoke a JWT (unsupported_token_type): it stores none. The service can revoke it.
          const jwtRefused = ctx.status === 400 && (ctx.body as { error?: unknown } | undefined)?.error === 'unsupported_token_type';
          if (!jwtRefused) return;
          try {
            if (await forwardJwtRevocation(oidcCtx)) {
              ctx.status = 200;
              ctx.body = '';
            }
          } catch {
            ctx.status = 503;
            ctx.body = { error: 'temporarily_unavailable', error_description: 'the revocation could not be forwarded; try again' };
            ctx.set('Retry-After', '5');
          }
        }
      });
    },
    /** Sends every client the provider knows statically to the service now (optional: the first token of a client does it too). */
    async syncClients(clientIds: string[]) {
      for (const clientId of clientIds) await warm(clientId);
    },
  };
}

async function defaultUserName(ctx: KoaContextWithOIDC, accountId: string): Promise<string | undefined> {
  const account = ctx.oidc.entities.Account;
  if (account?.accountId !== accountId) return undefined;
  const claims = (await account?.claims('userinfo', 'openid profile', {}, [])) as { name?: unknown } | undefined;
  return typeof claims?.name === 'string' && claims.name.length > 0 ? claims.name.slice(0, 255) : undefined;
}

/** Every method of an adapter, bound, so a wrapper replaces only the ones it changes. */
function delegate(adapter: Adapter): Adapter {
  return {
    upsert: (id, payload, expiresIn) => adapter.upsert(id, payload, expiresIn),
    find: (id) => adapter.find(id),
    findByUserCode: (userCode) => adapter.findByUserCode(userCode),
    findByUid: (uid) => adapter.findByUid(uid),
    consume: (id) => adapter.consume(id),
    destroy: (id) => adapter.destroy(id),
    revokeByGrantId: (grantId) => adapter.revokeByGrantId(grantId),
  };
}
