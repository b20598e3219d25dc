/**
 * The resource-server entity: a resource server an org declared (by the `sub` of its JWT, or the
 * `client_id` of its HTTP Basic credentials): its name, its audience, the edition the org had when
 * it was declared (a Basic caller carries no claims) and the keyed hashes of its client secrets
 * (never the secrets). One item each in the org's resource-servers partition: a page of the list is
 * one Query.
 */
import * as v from 'valibot';
import { recordReader } from './checked.js';
import { getItem, itemOf, queryPage, type Key, type ListedPage } from './requests.js';
import { keyPart, orgPrefix } from './table.js';
import { deleteWrite, putWrite, type Write } from './unit-of-work.js';

export interface ClientSecretHash {
  /** The keyed hash of the secret (shared/crypto.ts, as a token's lookup key). */
  hash: string;
  createdAt: string;
  /** When a secret replaced by a newer one stops working (null: current). */
  expiresAt: string | null;
}

export interface ResourceServer {
  orgId: string;
  sub: string;
  name: string;
  audience: string;
  edition: string;
  secrets: ClientSecretHash[];
  createdAt: string;
  updatedAt: string;
  version: number;
}

export const resourceServerKeys = {
  server: (orgId: string, sub: string): Key => ({ pk: `${orgPrefix(orgId)}#RESOURCE-SERVERS`, sk: `RS#${keyPart(sub)}` }),
};

const toResourceServer = /* @__PURE__ */ recordReader('ResourceServer', () => ({
  orgId: v.string(), sub: v.string(), name: v.string(), audience: v.string(), edition: v.string(), createdAt: v.string(), updatedAt: v.string(), version: v.number(),
}), (r) => ({ ...(r as unknown as ResourceServer), secrets: (r.secrets as ClientSecretHash[] | undefined) ?? [] }));

export async function getResourceServer(orgId: string, sub: string): Promise<ResourceServer | undefined> {
  return toResourceServer(await getItem(resourceServerKeys.server(orgId, sub)));
}

/** Stores the declaration: a new one only if none is there, a replacement only over the version read. */
export function putResourceServerWrite(server: ResourceServer, previousVersion: number | null): Write {
  return putWrite(
    itemOf('ResourceServer', resourceServerKeys.server(server.orgId, server.sub), server),
    previousVersion === null ? { expression: 'attribute_not_exists(pk)' } : { expression: 'version = :seen', values: { ':seen': previousVersion } },
  );
}

export function deleteResourceServerWrite(orgId: string, sub: string): Write {
  return deleteWrite(resourceServerKeys.server(orgId, sub), { expression: 'attribute_exists(pk)' });
}

/** One page of the org's resource servers, by sub: one Query. */
export async function listResourceServers(orgId: string, limit: number, startKey?: Record<string, unknown>): Promise<ListedPage<ResourceServer>> {
  const page = await queryPage({ partition: resourceServerKeys.server(orgId, '').pk, limit, startKey });
  return { items: page.items.map((i) => toResourceServer(i) as ResourceServer), lastKey: page.lastKey, resumeKeys: page.resumeKeys };
}
