/**
 * Trusted issuers' signing keys (contract section 9): one jose remote key set per JWKS URL per
 * container, shared by every org that trusts the issuer, so an identity provider's rate limit on
 * its keys endpoint sees one fetch per container per cooldown. Keys are fetched again every
 * 10 minutes, or at most every 30 s when a token names a `kid` the cached set lacks (a rollover).
 *
 * A fetch is an outbound request from inside the service's network, to a URL an org chose, so it
 * is guarded: https only (plain http only to a loopback host where the service runs locally), the
 * host's addresses resolved and refused unless public, the connection made to the address checked
 * (no second lookup a rebinding DNS server could answer differently), no redirects, at most
 * MAX_JWKS_BYTES read and FETCH_TIMEOUT_MS spent. A failed fetch is not retried for FAILURE_COOLDOWN_MS:
 * while an issuer's endpoint is down its tokens answer inactive at once, and no other issuer waits.
 */
import { lookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';
import { config } from './config.js';
import { isLoopbackHost, isPublicAddress } from './public-address.js';

const FETCH_TIMEOUT_MS = 3_000;
const CACHE_MAX_AGE_MS = 10 * 60_000;
const COOLDOWN_MS = 30_000;
const FAILURE_COOLDOWN_MS = 30_000;
export const MAX_JWKS_BYTES = 256 * 1024;
/** Key sets kept per container (an org trusts a few issuers; the cap bounds memory whatever they do). */
const MAX_KEY_SETS = 500;

/** Whether the service may connect to `address` for `hostname`: a public address, or loopback for a loopback name where allowed locally. */
const mayConnect = (hostname: string, address: string) =>
  isPublicAddress(address) || (config.allowLoopbackIssuers && isLoopbackHost(hostname) && /^(127\.|::1$)/.test(address));

/** Resolves a host to addresses the service may connect to; a name with any other address is refused whole. */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  lookup(hostname, { all: true, family: options.family ?? 0 }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const allowed = addresses.filter((a) => mayConnect(hostname, a.address));
    if (allowed.length === 0 || allowed.length !== addresses.length) {
      return callback(Object.assign(new Error(`${hostname} resolves to an address the service does not fetch from`), { code: 'ERR_ADDRESS_REFUSED' }), '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
    const [first] = allowed as [LookupAddress];
    return callback(null, first.address, first.family);
  });
};

/** A GET of a key set, guarded as above, answered as a fetch Response (what jose's remote key set reads). */
export async function guardedFetch(url: string, init: { signal?: AbortSignal; headers?: Headers } = {}): Promise<Response> {
  const target = new URL(url);
  const loopbackHttp = target.protocol === 'http:' && config.allowLoopbackIssuers && isLoopbackHost(target.hostname);
  if (target.protocol !== 'https:' && !loopbackHttp) throw new Error(`${target.protocol} is not fetched: https only`);
  // An address in the URL is connected to without a lookup: checked here.
  const host = target.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) && !mayConnect(host, host)) throw new Error(`${host} is an address the service does not fetch from`);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const outgoing = request(target, { method: 'GET', headers: Object.fromEntries(init.headers ?? []), lookup: guardedLookup, signal: init.signal }, resolve);
    outgoing.on('error', reject);
    outgoing.end();
  });
  // A redirect is an answer like any other: not 200, so the key set refuses it (and nothing follows it).
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JWKS_BYTES) {
      response.destroy();
      throw new Error(`The key set at ${url} is larger than ${MAX_JWKS_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return new Response(Buffer.concat(chunks), { status: response.statusCode ?? 500, headers: { 'content-type': String(response.headers['content-type'] ?? '') } });
}

interface KeySet {
  keys: JWTVerifyGetKey;
  failedAt: number | undefined;
}
const keySets = new Map<string, KeySet>();

/** The key set at `jwksUri` (created on first use; the least recently used beyond MAX_KEY_SETS is dropped). */
function keySetAt(jwksUri: string): KeySet {
  let set = keySets.get(jwksUri);
  if (set) {
    keySets.delete(jwksUri); // re-inserted below: the map's order is the order of use
  } else {
    const created: KeySet = {
      failedAt: undefined,
      keys: createRemoteJWKSet(new URL(jwksUri), {
        timeoutDuration: FETCH_TIMEOUT_MS, cooldownDuration: COOLDOWN_MS, cacheMaxAge: CACHE_MAX_AGE_MS,
        [customFetch]: async (url: string, init: { headers: Headers; signal: AbortSignal }) => {
          if (created.failedAt !== undefined && Date.now() - created.failedAt < FAILURE_COOLDOWN_MS) throw new Error(`The key set at ${url} failed less than ${FAILURE_COOLDOWN_MS / 1000} s ago`);
          try {
            const answer = await guardedFetch(url, init);
            created.failedAt = answer.status === 200 ? undefined : Date.now();
            return answer;
          } catch (error) {
            created.failedAt = Date.now();
            throw error;
          }
        },
      }),
    };
    set = created;
    if (keySets.size >= MAX_KEY_SETS) keySets.delete(keySets.keys().next().value as string);
  }
  keySets.set(jwksUri, set);
  return set;
}

/** The key resolver jose verifies an issuer's tokens with. */
export const issuerKeys = (jwksUri: string): JWTVerifyGetKey => keySetAt(jwksUri).keys;
