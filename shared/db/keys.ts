/**
 * Every key the service writes, built in one place. Tenant keys start with the org, so no query
 * can cross orgs. Ids never contain `#` (see idSchema), which makes the separators unambiguous,
 * and every id character sorts after `#`, so an app's shard items sort right behind the app.
 */
import { APP_SHARDS } from './table.js';

export interface Key {
  pk: string;
  sk: string;
}

const org = (orgId: string) => `ORG#${orgId}`;

export const keys = {
  /** An org's apps and their shards share one item collection: `APP#<appId>[#SHARD#<n>]`. */
  app: (orgId: string, appId: string): Key => ({ pk: org(orgId), sk: `APP#${appId}` }),
  appShard: (orgId: string, appId: string, shard: number): Key => ({ pk: org(orgId), sk: `APP#${appId}#SHARD#${shard}` }),
  /** Bounds of one app's collection (the app row and its shards), for a single Query. */
  appCollection: (orgId: string, appId: string) => ({ pk: org(orgId), from: `APP#${appId}`, to: `APP#${appId}#~` }),

  /** An app's users: usage row with counters and the user's revocation epoch. */
  appUser: (orgId: string, appId: string, userId: string): Key => ({ pk: `${org(orgId)}#APP#${appId}`, sk: `USER#${userId}` }),

  /** Tokens are keyed by the keyed hash of their raw value, so introspection is one GetItem. */
  token: (orgId: string, lookupKey: string): Key => ({ pk: `${org(orgId)}#TOKEN#${lookupKey}`, sk: 'TOKEN' }),
  /** gsi1: a user's tokens for one app. */
  userTokensIndex: (orgId: string, appId: string, userId: string) => `${org(orgId)}#APP#${appId}#USER#${userId}`,
  userTokensIndexSort: (tokenId: string) => `TOKEN#${tokenId}`,
};

/** A shard picked at random, so a busy app's reads and writes spread evenly over its shards. */
export function randomShard(random: () => number = Math.random): number {
  return Math.floor(random() * APP_SHARDS) % APP_SHARDS;
}
