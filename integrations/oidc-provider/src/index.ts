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
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { createClient, isTransient, OAuthUsageError, type ErrorKind, type OAuthUsageClient, type ProblemKind, type Schemas } from '@oauth-usage/client';

export interface OAuthUsageOptions {
  /** The service's base URL. */
  baseUrl: string;
  /** The provider's own bearer token for the service (scopes `tokens:write tokens:introspect`): a string, or a function asked before every call. */
  token: string | (() => string | Promise<string>);
  /** The display name registered with a user's tokens (default: the account's `name` claim, if any). */
  userName?: (ctx: KoaContextWithOIDC, accountId: string) => string | undefined | Promise<string | undefined>;
  /** How long a client's settings and policies are taken as known, in seconds (default 60). */
  cacheSeconds?: number;
  /** Attempts of a registration whose answer was lost or a 5xx (default 3; a registration is idempotent: a retry of one that committed is a 200). */
  attempts?: number;
  /** How long one call to the service may take, in milliseconds (default 5,000). */
  timeoutMs?: number;
  /** A fetch to use instead of the global one. */
  fetch?: (request: Request) => Promise<Response>;
}

type Policies = Schemas['AppPolicies'];
type Registration = Schemas['TokenRegistration'];
type Issued = AdapterPayload & { jti?: string; iat?: number; exp?: number; consumed?: unknown; grantId?: string; clientId?: string };
interface TokenEntity { jti: string; iat?: number; exp?: number; expiration?: number; scope?: string; accountId?: string; grantId?: string; jkt?: string; 'x5t#S256'?: string; resourceServer?: { audience?: string | string[] }; format?: string }
interface TokenBody { access_token: string; refresh_token?: string; expires_in?: number; [key: string]: unknown }
interface ClientSettings { clientId: string; clientName?: string; redirectUris?: readonly string[]; scope?: string }
interface GrantEntry { value: string; hint: 'access_token' | 'refresh_token'; exp?: string | undefined }
/** A token answer the plug-in cannot map to what it must register. */
class Unregistrable extends Error {}
/** The provider's grant ended while a token request of it was being answered. */
class GrantEnded extends Error {}

/** The models whose records are tokens the service knows: checked on find, forwarded on destroy. */
const TOKEN_MODELS: Record<string, 'access_token' | 'refresh_token'> = { AccessToken: 'access_token', ClientCredentials: 'access_token', RefreshToken: 'refresh_token' };
/** The other models a grant's revocation goes through (codes and pending requests of a grant). */
const GRANT_CODE_MODELS = new Set(['AuthorizationCode', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);
/** The plug-in's own records, in the provider's storage: each grant's tokens to revoke at the service when the provider revokes the grant. */
const GRANT_MODEL = 'OAuthUsageGrant';
/** Refusals that end the grant: the client gets `invalid_grant` (`unauthorized_client` for its own tokens), the provider's grant is revoked too. */
const REFUSALS: ReadonlySet<ErrorKind> = new Set<ProblemKind>(['token-revoked', 'app-blocked', 'user-blocked', 'parent-token-inactive', 'refresh-token-reused', 'user-not-approved']);

/** What the provider tells a client to wait after an outage of the service. */
const RETRY_AFTER_SECONDS = '5';
const isoOf = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString();
const scopesOf = (scope: string | undefined) => (scope ?? '').split(' ').filter(Boolean);
/** oidc-provider's own test: a class (or constructor function) has an object prototype; a factory arrow has none. */
const isConstructor = (adapter: AdapterConstructor | AdapterFactory): adapter is AdapterConstructor => typeof adapter.prototype === 'object' && adapter.prototype !== null;
const routeOf = () => Provider.ctx?.oidc?.route;
/** When a record was consumed, in epoch seconds: adapters store a timestamp (oidc-provider's own: seconds), a Date, or milliseconds. */
function consumedSeconds(consumed: unknown): number | undefined {
  const value = consumed instanceof Date ? consumed.getTime() / 1000 : typeof consumed === 'number' ? consumed : undefined;
  if (value === undefined || !Number.isFinite(value)) return undefined;
  return value > 1e11 ? value / 1000 : value;
}

/** The provider's answer when the service cannot be asked: 503 `temporarily_unavailable` with Retry-After (oidc-provider hides 5xx errors unless exposed). */
function unavailable(cause: unknown): Error {
  Provider.ctx?.set('Retry-After', RETRY_AFTER_SECONDS);
  return Object.assign(new errors.OIDCProviderError(503, 'temporarily_unavailable'), { expose: true, cause, error_description: 'OAuth Usage could not be reached; try again' });
}
/** A call to the service, its failure the provider's error: 503 while the service does not answer, else a logged 500 (the provider's own token or a setting refused: asking again will not help). */
async function orProviderError<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (isTransient(error)) throw unavailable(error);
    console.error('OAuth Usage plug-in: the service refused the provider', error);
    throw Object.assign(new errors.OIDCProviderError(500, 'server_error'), { cause: error });
  }
}

export function oauthUsage(options: OAuthUsageOptions) {
  const timeoutMs = options.timeoutMs ?? 5000;
  const send = options.fetch ?? ((request: Request) => fetch(request));
  // A token request waits for these calls: each is bounded, and a 429's Retry-After is waited for once, briefly.
  const service: OAuthUsageClient = createClient({
    baseUrl: options.baseUrl, token: options.token, retries: 1, maxRetryAfterSeconds: 2,
    fetch: (request) => send(new Request(request, { signal: AbortSignal.timeout(timeoutMs) })),
  });
  const cacheMs = (options.cacheSeconds ?? 60) * 1000;
  const attempts = options.attempts ?? 3;
  /** The provider's own signing keys (public parts): a JWT presented for revocation must be one it signed. */
  let ownKeys: ReturnType<typeof createLocalJWKSet> | undefined;
  /** The provider's adapters as they are, by model: what the plug-in itself destroys is not forwarded. */
  const plain = new Map<string, Adapter>();
  const plainAdapter = (name: string) => plain.get(name) as Adapter;
  let provider: Provider | undefined;

  // ---- Clients and their policies -----------------------------------------------------------
  const apps = new Map<string, { settings: string; at: number; policies: Policies; pending?: Promise<Policies> }>();
  /** PUT /v1/apps/{clientId} when the client's settings changed (or were never sent), then its policies; cached for cacheSeconds. */
  async function appOf(client: ClientSettings): Promise<Policies> {
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
  const knownPolicies = (clientId: string | undefined) => (clientId ? apps.get(clientId)?.policies : undefined);
  async function warm(clientId: string) {
    const client = await provider?.Client.find(clientId);
    if (client) await appOf(client);
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
    const grant = (await plainAdapter(GRANT_MODEL).find(grantId)) as { tokens?: GrantEntry[] } | undefined;
    for (const { value, hint } of grant?.tokens ?? []) await revokeAtService(value, hint);
    await plainAdapter(GRANT_MODEL).destroy(grantId);
  });
  /**
   * Ends a grant at the provider after the service refused one of its tokens: the grant may hold
   * other sign-ins, which are revoked at the service first. True when it ended; false when the
   * service could not be told (then the grant lives on at both ends).
   */
  async function endGrantAtProvider(grantId: string | undefined): Promise<boolean> {
    if (!grantId) return true;
    try {
      await revokeGrantAtService(grantId);
    } catch {
      return false;
    }
    await Promise.all([...Object.keys(TOKEN_MODELS), ...GRANT_CODE_MODELS].map(async (name) => { await plain.get(name)?.revokeByGrantId(grantId); }));
    await Promise.all([plain.get('Grant')?.destroy(grantId), plainAdapter(GRANT_MODEL).destroy(grantId)]);
    return true;
  }

  // ---- The adapter ---------------------------------------------------------------------------
  function wrapAdapter(configured: AdapterConstructor | AdapterFactory | undefined, clockTolerance: number): AdapterFactory {
    if (configured === undefined) console.warn('oidc-provider WARNING: a quick start development-only in-memory adapter is used (under the OAuth Usage plug-in), you MUST change it in order to not lose all stateful provider data upon restart and to be able to share these between processes');
    const factory: AdapterFactory = configured === undefined ? createMemoryAdapter(clockTolerance) : isConstructor(configured) ? (name) => new configured(name) : configured;
    if (!plain.has(GRANT_MODEL)) plain.set(GRANT_MODEL, factory(GRANT_MODEL));
    return (name) => {
      const adapter = factory(name);
      plain.set(name, adapter);
      // A grant destroyed at the provider (its revoke helper, or the integrator's code) is revoked at the service first.
      if (name === 'Grant') return { ...delegate(adapter), async destroy(id) { await orProviderError(revokeGrantAtService(id)); await adapter.destroy(id); } };
      // A grant's tokens revoked through any model: adapters commonly keep one grant index for all of them, so a code's revokeByGrantId
      // may end the refresh tokens too. The service is told first, whichever model it is.
      const forwardingGrants: Adapter = {
        ...delegate(adapter),
        async revokeByGrantId(grantId) {
          await orProviderError(revokeGrantAtService(grantId));
          await adapter.revokeByGrantId(grantId);
        },
      };
      const hint = TOKEN_MODELS[name];
      if (!hint) return GRANT_CODE_MODELS.has(name) ? forwardingGrants : adapter;
      return {
        ...forwardingGrants,
        async find(id) {
          const record = (await adapter.find(id)) as Issued | undefined;
          // Being revoked: nothing to ask. Another client's refresh token in a refresh grant: oidc-provider refuses it (client mismatch)
          // without a word to the service. (Elsewhere, such as the provider's own introspection, the caller is another client by design.)
          const ctx = Provider.ctx;
          const foreign = name === 'RefreshToken' && ctx?.oidc?.route === 'token' && ctx.oidc.params?.grant_type === 'refresh_token'
            && record?.clientId !== undefined && record.clientId !== ctx.oidc.client?.clientId;
          if (!record || routeOf() === 'revocation' || foreign) return record;
          // Stored under another key than its value: the service cannot be asked about it, so it is not accepted.
          if (record.jti !== id) return undefined;
          if (record.consumed) {
            // A rotated-out refresh token presented again. Within the app's grace (two tabs refreshing at once) it is refused and nothing
            // more; after it, the provider's reuse detection revokes the grant, which is forwarded.
            const grace = knownPolicies(record.clientId)?.refreshTokenReuseGraceSeconds ?? 0;
            const consumedAt = consumedSeconds(record.consumed);
            return consumedAt !== undefined && Date.now() / 1000 - consumedAt <= grace ? undefined : record;
          }
          const answer = await orProviderError(service.POST('/oauth2/introspect', { body: { token: id, token_type_hint: hint } }));
          if (answer.active) return record;
          // Inactive at the service: a refresh token's grant ends at the provider too (its other sign-ins revoked at the service
          // first); an access token ends alone.
          if (name === 'RefreshToken') await endGrantAtProvider(record.grantId);
          await adapter.destroy(id);
          return undefined;
        },
        async destroy(id) {
          await orProviderError(revokeAtService(id, hint));
          await adapter.destroy(id);
        },
      };
    };
  }

  // ---- Registration at the token endpoint --------------------------------------------------
  /** A minted token's issue and expiry times, as the provider recorded them: the JWT's claims, or the stored record's. */
  async function timesOf(model: string, entity: TokenEntity, value: string): Promise<{ iat?: number; exp?: number }> {
    if (value.split('.').length === 3) {
      const claims = JSON.parse(Buffer.from(value.split('.')[1] as string, 'base64url').toString('utf8')) as { iat?: number; exp?: number };
      return { iat: claims.iat, exp: claims.exp };
    }
    const stored = (await plain.get(model)?.find(entity.jti)) as Issued | undefined;
    const iat = stored?.iat ?? entity.iat;
    return { iat, exp: stored?.exp ?? entity.exp ?? (iat !== undefined && entity.expiration ? iat + entity.expiration : undefined) };
  }

  async function register(ctx: KoaContextWithOIDC, body: TokenBody) {
    const { entities, params } = ctx.oidc;
    const client = entities.Client as unknown as ClientSettings | undefined;
    const access = (entities.AccessToken ?? entities.ClientCredentials) as unknown as TokenEntity | undefined;
    // A grant that names no access token (a custom grant type) cannot be registered: nothing leaves unknown.
    if (!client || !access) throw new Unregistrable('the provider issued a token of a grant the OAuth Usage plug-in cannot register');
    const refresh = entities.RefreshToken as unknown as TokenEntity | undefined;
    const rotated = entities.RotatedRefreshToken as unknown as TokenEntity | undefined;
    const presented = typeof params?.refresh_token === 'string' ? params.refresh_token : undefined;
    await appOf(client);
    const accountId = access.accountId;
    const userName = accountId ? await (options.userName ?? defaultUserName)(ctx, accountId) : undefined;
    const common = { appId: client.clientId, issuer: (provider as Provider).issuer, ...(accountId ? { userId: accountId, ...(userName ? { userName } : {}) } : {}) };
    const confirmation = (t: TokenEntity) => (t.jkt ? { cnf: { jkt: t.jkt } } : t['x5t#S256'] ? { cnf: { 'x5t#S256': t['x5t#S256'] } } : {});
    const timed = ({ iat, exp }: { iat?: number; exp?: number }) => ({ ...(iat ? { issuedAt: isoOf(iat) } : {}), ...(exp ? { expiresAt: isoOf(exp) } : {}) });
    const tokens: Registration[] = [];
    // A refresh token is new on a code exchange and on a rotation; without rotation it is the one presented, registered already.
    const newRefresh = body.refresh_token !== undefined && body.refresh_token !== presented ? body.refresh_token : undefined;
    if (newRefresh && refresh) {
      tokens.push({
        ...common, token: newRefresh, type: 'refresh', scopes: scopesOf(refresh.scope), ...confirmation(refresh),
        ...timed(await timesOf('RefreshToken', refresh, newRefresh)), ...(rotated && presented ? { previousRefreshToken: presented } : {}),
      });
    }
    const audience = access.resourceServer?.audience;
    tokens.push({
      ...common, token: body.access_token, type: 'access', scopes: scopesOf(typeof body.scope === 'string' ? body.scope : access.scope), ...confirmation(access),
      ...timed(await timesOf(entities.AccessToken ? 'AccessToken' : 'ClientCredentials', access, body.access_token)),
      ...(audience ? { audience: Array.isArray(audience) ? audience : [audience] } : {}),
      ...(body.refresh_token ? { refreshToken: body.refresh_token } : {}),
    });
    // Remembered first: a process killed after the registration still leaves the grant revocable from the provider.
    if (access.grantId) await rememberGrant(access.grantId, newRefresh ? { value: newRefresh, hint: 'refresh_token', exp: tokens[0]?.expiresAt } : presented ? undefined : { value: body.access_token, hint: 'access_token', exp: tokens.at(-1)?.expiresAt });
    const answer = await registerWithRetries(tokens);
    // A logout or a grant revocation that ran while this request was minting: what was just registered goes with it.
    if (access.grantId && !(await plain.get('Grant')?.find(access.grantId))) {
      await revokeAtService(newRefresh ?? body.access_token, newRefresh ? 'refresh_token' : 'access_token');
      throw new GrantEnded('the grant was revoked while its tokens were issued');
    }
    // The client is told the expiry the service applied (the app's accessTokenLifetimeMinutes).
    const registeredAccess = answer.at(-1);
    if (registeredAccess?.expiresAt) {
      const left = Math.max(0, Math.floor((Date.parse(registeredAccess.expiresAt) - Date.now()) / 1000));
      if (body.expires_in === undefined || left < body.expires_in) body.expires_in = left;
    }
  }

  async function registerWithRetries(tokens: Registration[]): Promise<Schemas['RegisteredToken'][]> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const answer = await service.POST('/v1/tokens', { body: { tokens } });
        return 'tokens' in answer ? answer.tokens : [answer];
      } catch (error) {
        // A lost answer or a 5xx may have committed: the same body again is a 200 then (the registration is idempotent). A refusal is final.
        if (!isTransient(error) || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }

  /**
   * What to revoke at the service when the provider revokes this grant (one grant of oidc-provider
   * may hold several sign-ins of a session): one refresh token of each chain (it takes its chain's
   * tokens), and the access tokens issued without one; entries leave when they expire.
   */
  async function rememberGrant(grantId: string, entry: GrantEntry | undefined) {
    if (!entry) return;
    const store = plainAdapter(GRANT_MODEL);
    const now = Date.now();
    const known = ((await store.find(grantId)) as { tokens?: GrantEntry[] } | undefined)?.tokens ?? [];
    const tokens = [...known.filter((t) => t.value !== entry.value && (!t.exp || Date.parse(t.exp) > now)), entry];
    const latest = Math.max(...tokens.map((t) => (t.exp ? Date.parse(t.exp) : now + 365 * 86_400_000)));
    await store.upsert(grantId, { tokens }, Math.max(1, Math.ceil((latest - now) / 1000)));
  }

  /** Un-consumes a record the grant consumed (a code, a rotated refresh token), so the client can send its request again. */
  async function unconsume(model: string, id: string | undefined) {
    if (!id) return;
    const record = (await plain.get(model)?.find(id)) as Issued | undefined;
    if (record?.consumed === undefined) return;
    const unconsumed: Issued = { ...record };
    delete unconsumed.consumed;
    await plainAdapter(model).upsert(id, unconsumed, record.exp ? Math.max(1, record.exp - Math.floor(Date.now() / 1000)) : undefined);
  }

  /** The provider minted tokens the service refused or could not hear of: they are taken back; on an outage what the grant consumed is given back, so the client can try again. */
  async function takeBack(ctx: KoaContextWithOIDC, body: TokenBody, endGrant: boolean) {
    const { entities } = ctx.oidc;
    const access = (entities.AccessToken ?? entities.ClientCredentials) as unknown as TokenEntity | undefined;
    if (access) await plain.get(entities.AccessToken ? 'AccessToken' : 'ClientCredentials')?.destroy(access.jti);
    if (body.refresh_token && body.refresh_token !== ctx.oidc.params?.refresh_token) await plainAdapter('RefreshToken').destroy(body.refresh_token);
    if (endGrant) {
      await endGrantAtProvider(access?.grantId);
      return;
    }
    // What the grant consumed: a rotated refresh token, a code, a device code, a CIBA request, a pre-authorized code.
    const consumedBy: Record<string, string> = { RotatedRefreshToken: 'RefreshToken', AuthorizationCode: 'AuthorizationCode', DeviceCode: 'DeviceCode', BackchannelAuthenticationRequest: 'BackchannelAuthenticationRequest', PreAuthorizedCode: 'PreAuthorizedCode' };
    for (const [entity, model] of Object.entries(consumedBy)) await unconsume(model, (entities[entity as keyof typeof entities] as TokenEntity | undefined)?.jti);
  }

  /** A refusal, a misconfiguration or an outage, as the token endpoint answers it (RFC 6749 §5.2). */
  function oauthError(ctx: KoaContextWithOIDC, error: unknown) {
    const kind = error instanceof OAuthUsageError ? error.kind : undefined;
    const clientCredentials = ctx.oidc.params?.grant_type === 'client_credentials';
    if (error instanceof GrantEnded) return { status: 400, error: 'invalid_grant', description: error.message, endGrant: true };
    if (kind && REFUSALS.has(kind)) return { status: 400, error: clientCredentials ? 'unauthorized_client' : 'invalid_grant', description: (error as Error).message, endGrant: true };
    if (kind === 'scope-not-allowed') return { status: 400, error: 'invalid_scope', description: (error as Error).message, endGrant: true };
    if (!(error instanceof Unregistrable) && isTransient(error)) {
      const retryAfter = error instanceof OAuthUsageError ? error.retryAfterSeconds : undefined;
      return { status: 503, error: 'temporarily_unavailable', description: 'the token could not be recorded; try again', retryAfter: retryAfter ?? Number(RETRY_AFTER_SECONDS), endGrant: false };
    }
    // The service refused the provider itself (its token, its scopes, a malformed value): trying again will not help.
    console.error('OAuth Usage plug-in: the token could not be registered', error);
    return { status: 500, error: 'server_error', description: 'the token could not be recorded', endGrant: false };
  }

  /** RFC 7009 at the provider for a JWT access token it signed for the calling client: forwarded to the service (true), or not (false). */
  async function forwardJwtRevocation(ctx: KoaContextWithOIDC): Promise<boolean> {
    const token = ctx.oidc.params?.token;
    if (typeof token !== 'string' || token.split('.').length !== 3 || !ownKeys) return false;
    try {
      // Signed by this provider, an access token (RFC 9068), of this client: a forged or foreign one is never forwarded.
      const { payload } = await jwtVerify(token, ownKeys, { issuer: (provider as Provider).issuer, typ: 'at+jwt' });
      if (payload.client_id !== ctx.oidc.client?.clientId) return false;
    } catch {
      return false;
    }
    await revokeAtService(token, 'access_token');
    return true;
  }

  return {
    /** The configuration with the plug-in's adapter (around yours, or oidc-provider's in-memory one) and access-token lifetimes capped by the app's policies. */
    configure(configuration: Configuration = {}): Configuration {
      // Implicit and hybrid access tokens leave from the authorization endpoint, which the plug-in does not see.
      const implicit = (configuration.responseTypes ?? []).filter((type) => type.split(' ').includes('token'));
      if (implicit.length > 0) throw new Error(`OAuth Usage plug-in: response types that issue access tokens at the authorization endpoint cannot be registered: ${implicit.join(', ')}`);
      // The public parts of the provider's signing keys, to tell its own JWTs from forged ones.
      // (Keys held outside the process, ExternalSigningKey, are not read: JWTs they sign are not forwarded; see the README.)
      const publicKeys = (configuration.jwks?.keys ?? []).filter((key): key is JWK & { kty: string } => 'kty' in key && key.kty !== 'oct')
        .map(({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...key }) => key as JWK);
      ownKeys = publicKeys.length > 0 ? createLocalJWKSet({ keys: publicKeys }) : undefined;
      const ttl = { ...configuration.ttl };
      const capped = (name: 'AccessToken' | 'ClientCredentials', fallback: number) => {
        const base = ttl[name] as number | ((...args: never[]) => number) | undefined;
        return (ctx: KoaContextWithOIDC, token: TokenEntity, client: { clientId: string } | undefined) => {
          const seconds = typeof base === 'function' ? (base as (...a: unknown[]) => number)(ctx, token, client) : base ?? (token.resourceServer as { accessTokenTTL?: number } | undefined)?.accessTokenTTL ?? fallback;
          const minutes = knownPolicies(client?.clientId)?.accessTokenLifetimeMinutes;
          return minutes ? Math.min(seconds, minutes * 60) : seconds;
        };
      };
      return {
        ...configuration,
        adapter: wrapAdapter(configuration.adapter, configuration.clockTolerance ?? 15),
        ttl: { ...ttl, AccessToken: capped('AccessToken', 3600), ClientCredentials: capped('ClientCredentials', 600) },
      };
    },
    /** Adds the token endpoint's registration and RFC 7009's forwarding to the provider. */
    install(target: Provider) {
      provider = target;
      // Every token request authenticates its client first: the app is declared and its policies are fresh before anything is minted.
      const findClient = target.Client.find.bind(target.Client);
      target.Client.find = async (...args: Parameters<typeof findClient>) => {
        const client = await findClient(...args);
        if (client && routeOf() === 'token') await orProviderError(appOf(client));
        return client;
      };
      target.use(async (ctx, next) => {
        await next();
        const oidcCtx = ctx as unknown as KoaContextWithOIDC;
        const route = oidcCtx.oidc?.route;
        if (route === 'token' && ctx.status >= 200 && ctx.status < 300) {
          const body = ctx.body as TokenBody | undefined;
          try {
            if (!body || typeof body !== 'object' || Buffer.isBuffer(body) || typeof body.access_token !== 'string') throw new Unregistrable('the token answer has no access token the plug-in can read');
            await register(oidcCtx, body);
          } catch (error) {
            const refusal = oauthError(oidcCtx, error);
            if (body && typeof body === 'object' && !Buffer.isBuffer(body)) await takeBack(oidcCtx, body, refusal.endGrant);
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
            ctx.set('Retry-After', RETRY_AFTER_SECONDS);
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
