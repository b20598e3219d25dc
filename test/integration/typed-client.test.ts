import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, OAuthUsageError } from '@oauth-usage/client';
import { localIssuer, type LocalIssuer } from '../../local/jwt.js';
import { ALL_SCOPES } from '../support/api.js';
import { documentedFetch } from '../support/openapi.js';

/** The typed client (clients/typescript-client) against the local HTTP API: the service's conventions handled once. */
const org = 'org-typed-client';
let server: Server;
let base: string;
let issuer: LocalIssuer;

beforeAll(async () => {
  issuer = await localIssuer(mkdtempSync(join(tmpdir(), 'ou-client-')), 'urn:client-issuer', 'oauth-usage');
  const { createLocalApi } = await import('../../local/http-server.js');
  server = await createLocalApi(issuer);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server?.close());

const mint = () => issuer.mint({ sub: 'script@example.com', org_id: org, org_edition: 'Developer', scope: ALL_SCOPES });

describe('the typed client', () => {
  it('asks its token source before every call, answers typed bodies and walks a list\'s pages', async () => {
    let asked = 0;
    const client = createClient({ baseUrl: base, token: async () => { asked += 1; return mint(); }, fetch: documentedFetch() });
    for (const appId of ['client-a', 'client-b', 'client-c']) {
      const app = await client.POST('/v1/apps', { body: { appId, name: `App ${appId}` } });
      expect(app.appId).toBe(appId);
    }
    expect(asked).toBe(3);
    const app = await client.GET('/v1/apps/{appId}', { params: { path: { appId: 'client-b' } } });
    expect(app.name).toBe('App client-b');
    // One app a page: three pages, every app once.
    const seen: string[] = [];
    for await (const item of client.items('/v1/apps', { params: { query: { all: 'true', limit: 1 } } })) seen.push(item.appId);
    expect(seen.filter((id) => id.startsWith('client-'))).toEqual(['client-a', 'client-b', 'client-c']);
  });

  it('throws problem+json answers as OAuthUsageError, with their kind and the field they name', async () => {
    const client = createClient({ baseUrl: base, token: mint, fetch: documentedFetch() });
    const missing = await client.GET('/v1/apps/{appId}', { params: { path: { appId: 'nope' } } }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OAuthUsageError);
    expect(missing).toMatchObject({ status: 404, kind: 'not-found' });
    const invalid = await client.POST('/v1/apps', { body: { appId: 'bad id!', name: '' } }).catch((e: unknown) => e as OAuthUsageError);
    expect(invalid).toMatchObject({ status: 400, kind: 'validation-error' });
    expect((invalid as OAuthUsageError).field('body.appId')).toBeTruthy();
    const unauthenticated = await createClient({ baseUrl: base, token: 'not-a-jwt' }).GET('/v1/apps').catch((e: unknown) => e);
    expect(unauthenticated).toMatchObject({ status: 401 });
  });

  it('sends an Idempotency-Key with a revocation, the same one again after a 429\'s Retry-After', async () => {
    const revocations: { key: string | null; status: number }[] = [];
    const client = createClient({
      baseUrl: base, token: mint,
      // The first revocation is answered 429 once, as a throttled gateway would.
      fetch: async (request: Request) => {
        if (!request.url.endsWith('/revocations')) return fetch(request);
        const key = request.headers.get('idempotency-key');
        if (revocations.length === 0) {
          revocations.push({ key, status: 429 });
          return new Response('{"message":"Too Many Requests"}', { status: 429, headers: { 'retry-after': '0', 'content-type': 'application/json' } });
        }
        const response = await fetch(request);
        revocations.push({ key, status: response.status });
        return response;
      },
    });
    await client.POST('/v1/apps', { body: { appId: 'client-revoke', name: 'Revoked' } });
    const job = await client.POST('/v1/apps/{appId}/revocations', { params: { path: { appId: 'client-revoke' } }, body: { all: true } });
    if (!('jobId' in job)) throw new Error('a dry run answered');
    expect(job.jobId).toMatch(/^job_/);
    expect(revocations.map((r) => r.status)).toEqual([429, 202]);
    expect(revocations[0]?.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(revocations[1]?.key).toBe(revocations[0]?.key);
    // A key the caller gives is kept.
    const again = await client.POST('/v1/apps/{appId}/revocations', { params: { path: { appId: 'client-revoke' }, header: { 'Idempotency-Key': 'mine-1' } }, body: { all: true } });
    expect(revocations.at(-1)?.key).toBe('mine-1');
    if (!('jobId' in again)) throw new Error('a dry run answered');
    expect(again.jobId).toMatch(/^job_/);
    expect(again.jobId).not.toBe(job.jobId);
  });

  it("backs off and sends again a 429 without Retry-After (API Gateway's own throttling), and gives up after its retries", async () => {
    let throttled = 0;
    const gateway = (times: number) => async (request: Request) => {
      if (throttled < times) {
        throttled += 1;
        return new Response('{"message":"Too Many Requests"}', { status: 429, headers: { 'content-type': 'application/json' } });
      }
      return documentedFetch()(request);
    };
    const client = createClient({ baseUrl: base, token: mint, fetch: gateway(2) });
    expect((await client.GET('/v1/apps', { params: { query: { all: 'true' } } })).items.length).toBeGreaterThan(0);
    expect(throttled).toBe(2);
    throttled = 0;
    const impatient = createClient({ baseUrl: base, token: mint, retries: 1, fetch: gateway(5) });
    await expect(impatient.GET('/v1/apps')).rejects.toMatchObject({ status: 429, kind: 'gateway', retryAfterSeconds: undefined });
    expect(throttled).toBe(2);
  });
});
