/**
 * The app entity: its row (settings, policies, version, revocation epoch) and APP_SHARDS shard
 * items (a share of the counters and a copy of what introspection and registration check), all
 * in the org's app collection. Listed by name (gsi1) and, while it holds active tokens, in the
 * active-apps list (gsi2).
 */
import * as v from 'valibot';
import type { App, AppCounters, AppShard } from '../model.js';
import { policiesAddedLater, type Policies } from '../schemas/policies.js';
import { recordReader } from './checked.js';
import {
  conditionalUpdate, getItem, itemOf, partitionOf, queryPage, removeClause, resumeKeyOf, setClause, withoutNulls, type Item, type Key, type ListedPage,
} from './requests.js';
import { APP_SHARDS, entityAttribute, keyPart, orgPrefix, table } from './table.js';
import { checkWrite, commit, commitOrFailures, putWrite, updateWrite, type Write } from './unit-of-work.js';

/**
 * A stored setting of type T: what an item written before it existed reads as, what a value
 * stored before some of its parts existed is completed with, whether the shards copy it.
 */
type SettingField<T> = { absent?: T; complete?: (stored: T) => T; onShards?: true } & { readonly type?: T };
const setting = <T>() => <const O extends { absent?: T; complete?: (stored: T) => T; onShards?: true }>(options = {} as O) => options as O & SettingField<T>;

/**
 * An app's settings as stored, each declared once: its type, what an item written before the
 * setting existed reads as (`absent`; a new app not given it holds the same), and whether every
 * shard keeps a copy (`onShards`: what registration and introspection read from a random shard
 * rather than the row). The record's type, the row, the shards, the readers and every change
 * follow from this.
 */
const settingFields = {
  name: setting<string>()(),
  description: setting<string | null>()({ absent: null }),
  contactEmail: setting<string | null>()({ absent: null }),
  callbackUrls: setting<string[]>()({ absent: [] }),
  // On the shards for registration's scope check (`npm run migrate` copies an older app's onto them).
  scopes: setting<string[]>()({ absent: [], onShards: true }),
  policies: setting<Policies>()({ onShards: true, complete: (stored) => ({ ...policiesAddedLater, ...stored }) }),
};

type Setting = keyof typeof settingFields;
/** What an app's settings are (`App` holds them all). */
export type AppSettings = { [K in Setting]: (typeof settingFields)[K] extends SettingField<infer T> ? T : never };
/** A change of an app: some of its settings, policies included. */
export type AppPatch = Partial<AppSettings>;
type OnShards = { [K in Setting]: (typeof settingFields)[K] extends { onShards: true } ? K : never }[Setting];
type Defaulted = { [K in Setting]: (typeof settingFields)[K] extends { absent: unknown } ? K : never }[Setting];
/** The settings every shard holds a copy of. */
export type ShardCopies = Pick<AppSettings, OnShards>;
const settings = Object.keys(settingFields) as Setting[];
const copiedOnShards = settings.filter((k): k is OnShards => 'onShards' in settingFields[k]);

/** A stored row's (or shard's) settings with what older items lack filled in. */
function completeSettings(stored: Item, which: readonly Setting[]): Item {
  const done: Item = {};
  for (const name of which) {
    const field: { absent?: unknown; complete?: (stored: never) => unknown } = settingFields[name];
    const value = stored[name];
    done[name] = value === undefined ? structuredClone(field.absent) : field.complete ? field.complete(value as never) : value;
  }
  return done;
}

/** What a new app holds of a setting it was not given: what an item stored before the setting existed reads as. */
export const settingDefaults = (): Pick<AppSettings, Defaulted> => {
  const absent = completeSettings({}, settings);
  return Object.fromEntries(Object.entries(absent).filter(([, value]) => value !== undefined)) as Pick<AppSettings, Defaulted>;
};

const pick = <T extends object, K extends keyof T>(from: T, keys: readonly K[]) =>
  Object.fromEntries(keys.filter((k) => from[k] !== undefined).map((k) => [k, from[k]])) as Partial<Pick<T, K>>;

const { gsi1, gsi2 } = table.indexes;
const SEP = '\u0000';
const shardNumbers = Array.from({ length: APP_SHARDS }, (_, n) => n);

/**
 * Sort key by case-insensitive name, then appId (and shard), so an app and its shards are
 * adjacent. Names may contain anything but control characters, so U+0000 (which sorts before
 * every other character) separates the name from the id.
 */
const byName = (name: string, appId: string, shard?: number) => `${name.toLowerCase()}${SEP}${keyPart(appId)}${shard === undefined ? '' : `${SEP}${shard}`}`;

export const appKeys = {
  /** An org's apps and their shards share one item collection: `APP#<appId>[#SHARD#<n>]`. Ids never contain `#`, and where another app's keyed id (`keyPart`) continues this one's, it does with a character above `#`. */
  app: (orgId: string, appId: string): Key => ({ pk: orgPrefix(orgId), sk: `APP#${keyPart(appId)}` }),
  shard: (orgId: string, appId: string, shard: number): Key => ({ pk: orgPrefix(orgId), sk: `APP#${keyPart(appId)}#SHARD#${shard}` }),
  /** Bounds of one app's collection (the row and its shards), for a single Query. */
  collection: (orgId: string, appId: string) => ({ pk: orgPrefix(orgId), from: `APP#${keyPart(appId)}`, to: `APP#${keyPart(appId)}#~` }),
  /** gsi1: every app of the org (row and shards) by name. */
  byName: (orgId: string, name: string, appId: string, shard?: number) => ({ [gsi1.partitionKey]: `${orgPrefix(orgId)}#APPS`, [gsi1.sortKey]: byName(name, appId, shard) }),
  /** gsi2 (sparse): the org's apps that hold active tokens (row and shards) by name. */
  activeByName: (orgId: string, name: string, appId: string, shard?: number) => ({ [gsi2.partitionKey]: `${orgPrefix(orgId)}#ACTIVE-APPS`, [gsi2.sortKey]: byName(name, appId, shard) }),
};
/** Attributes whose presence lists an app (row and shards) as holding active tokens. */
const activeListAttributes = [gsi2.partitionKey, gsi2.sortKey] as const;

/** A shard picked at random, so a busy app's reads and writes spread evenly over its shards. */
export function randomShard(random: () => number = Math.random): number {
  return Math.floor(random() * APP_SHARDS) % APP_SHARDS;
}

const identity = () => ({ orgId: v.string(), appId: v.string() });
const toApp = /* @__PURE__ */ recordReader('App', () => ({ ...identity(), name: v.string(), revokeEpoch: v.number() }), (a) => ({
  ...(a as unknown as App), ...completeSettings(a, settings), lastUsedAt: (a.lastUsedAt as string | undefined) ?? null, blocked: a.blocked === true,
}));
export const toAppShard = /* @__PURE__ */ recordReader('AppShard', () => ({ ...identity(), shard: v.number(), revokeEpoch: v.number(), activeTokenCount: v.number(), userCount: v.number() }), (s) => ({
  ...(s as unknown as AppShard), ...completeSettings(s, copiedOnShards), lastUsedAt: (s.lastUsedAt as string | undefined) ?? null,
  revokedAt: (s.revokedAt as string | undefined) ?? null, blocked: s.blocked === true,
}));

/** An app row with its shards' counters summed and the latest of their `lastUsedAt`. */
function withCounters(app: App, shards: AppShard[]): App & AppCounters {
  const lastUsed = shards.map((s) => s.lastUsedAt).filter((t): t is string => t !== null).sort().at(-1) ?? null;
  return {
    ...app,
    lastUsedAt: lastUsed,
    userCount: shards.reduce((sum, s) => sum + s.userCount, 0),
    activeTokenCount: shards.reduce((sum, s) => sum + s.activeTokenCount, 0),
  };
}

/** The writes that create an app: the row first (only if the appId is free), then its shards. */
export function createAppWrites(app: App): Write[] {
  const { orgId, appId, name } = app;
  const shards = shardNumbers.map((shard) => {
    const record: AppShard = { orgId, appId, shard, userCount: 0, activeTokenCount: 0, revokeEpoch: app.revokeEpoch, ...(pick(app, copiedOnShards) as ShardCopies), lastUsedAt: null, active: false, blocked: false, revokedAt: null };
    return putWrite(itemOf('AppShard', appKeys.shard(orgId, appId, shard), withoutNulls(record), appKeys.byName(orgId, name, appId, shard)));
  });
  return [putWrite(itemOf('App', appKeys.app(orgId, appId), withoutNulls(app), appKeys.byName(orgId, name, appId)), { expression: 'attribute_not_exists(pk)' }), ...shards];
}

/** In a transaction: the app must still exist. */
export const appStillThereWrite = (orgId: string, appId: string): Write => checkWrite(appKeys.app(orgId, appId), { expression: 'attribute_exists(pk)' });

/** Whether the org has this app: one consistent GetItem of the row's key only. */
export async function appExists(orgId: string, appId: string): Promise<boolean> {
  return (await getItem(appKeys.app(orgId, appId), 'pk')) !== undefined;
}

/** The app's current revocation epoch (a random shard's, strongly consistent), or undefined when the org has no such app. */
export async function appEpochNow(orgId: string, appId: string): Promise<number | undefined> {
  return toAppShard(await getItem(appKeys.shard(orgId, appId, randomShard())))?.revokeEpoch;
}

/** A page of the org's app ids, in appId order (the apps' collections: rows and their shards, `limit` items read). */
export async function pageAppIds(orgId: string, limit: number, startKey?: Item): Promise<{ appIds: string[]; lastKey: Item | undefined }> {
  const page = await queryPage({ partition: orgPrefix(orgId), prefix: 'APP#', limit, startKey });
  return { appIds: page.items.flatMap((item) => (item[entityAttribute] === 'App' ? toApp(item)?.appId ?? [] : [])), lastKey: page.lastKey };
}

/** The app row with its counters: one strongly consistent Query over the app's collection. */
export async function getAppWithCounters(orgId: string, appId: string): Promise<(App & AppCounters & { shards: AppShard[] }) | undefined> {
  const collection = appKeys.collection(orgId, appId);
  const { items } = await queryPage({ partition: collection.pk, between: [collection.from, collection.to], consistent: true });
  const row = toApp(items.find((i) => i[entityAttribute] === 'App'));
  if (!row) return undefined;
  const shards = items.filter((i) => i[entityAttribute] === 'AppShard').map((i) => toAppShard(i) as AppShard);
  return { ...withCounters(row, shards), shards };
}

/**
 * One page of the org's apps by case-insensitive name (optionally a name prefix), all of them or
 * only those holding active tokens: one Query on an index that holds each app row followed by
 * its shards. A page that ends inside an app's group (the index is eventually consistent) is cut
 * back to the last whole app, and the next page starts there.
 */
export async function listApps(orgId: string, options: { activeOnly: boolean; namePrefix?: string; limit: number; startKey?: Item }): Promise<ListedPage<App & AppCounters>> {
  const group = APP_SHARDS + 1;
  const index = options.activeOnly ? 'gsi2' : 'gsi1';
  const attributes = options.activeOnly ? appKeys.activeByName(orgId, '', '') : appKeys.byName(orgId, '', '');
  const page = await queryPage({ index, partition: partitionOf(index, attributes), prefix: options.namePrefix?.toLowerCase(), limit: options.limit * group, startKey: options.startKey });
  const apps: (App & AppCounters)[] = [];
  const resumeKeys: Item[] = [];
  let current: { app: App; shards: AppShard[]; last: Item } | undefined;
  const flush = () => {
    if (current && current.shards.length === APP_SHARDS) {
      apps.push(withCounters(current.app, current.shards));
      resumeKeys.push(resumeKeyOf(index, current.last));
    }
  };
  for (const item of page.items) {
    if (item[entityAttribute] === 'App') {
      flush();
      current = { app: toApp(item) as App, shards: [], last: item };
    } else if (current && item.appId === current.app.appId) {
      current.shards.push(toAppShard(item) as AppShard);
      current.last = item;
    }
  }
  if (!page.lastKey) flush();
  else if (current?.shards.length === APP_SHARDS) flush();
  return { items: apps, lastKey: page.lastKey && resumeKeys.length ? resumeKeys.at(-1) : page.lastKey, resumeKeys };
}

/** SET for listing the app as active: the active-apps index keys copy the by-name sort key. */
function activationClause(orgId: string) {
  return {
    expression: 'active = :true, #activePk = :activePk, #activeSk = #nameSk',
    names: { '#activePk': gsi2.partitionKey, '#activeSk': gsi2.sortKey, '#nameSk': gsi1.sortKey },
    values: { ':true': true, ':activePk': partitionOf('gsi2', appKeys.activeByName(orgId, '', '')) },
  };
}

/** Lists the app as active on its row and every shard but one (the one `countNewToken` writes). */
export function activationWrites(orgId: string, appId: string, { except }: { except: number }): Write[] {
  const clause = activationClause(orgId);
  const itemKeys = [appKeys.app(orgId, appId), ...shardNumbers.filter((n) => n !== except).map((n) => appKeys.shard(orgId, appId, n))];
  return itemKeys.map((Key) => updateWrite({ Key, UpdateExpression: `SET ${clause.expression}`, ExpressionAttributeNames: clause.names, ExpressionAttributeValues: clause.values }));
}

/** Registration's shard write: counts the tokens (and a new active user), pins the epoch and active flag it read, and lists the app when it was not. */
export function countNewToken(shard: AppShard, newUsers: number, appEpoch: number, tokens = 1): Write {
  const activation = shard.active ? undefined : activationClause(shard.orgId);
  return updateWrite({
    Key: appKeys.shard(shard.orgId, shard.appId, shard.shard),
    UpdateExpression: `ADD activeTokenCount :one, userCount :users${activation ? ` SET ${activation.expression}` : ''}`,
    ConditionExpression: 'revokeEpoch = :epoch AND active = :active',
    ...(activation ? { ExpressionAttributeNames: activation.names } : {}),
    ExpressionAttributeValues: { ':one': tokens, ':users': newUsers, ':epoch': appEpoch, ':active': shard.active, ...activation?.values },
  });
}

/** Uncounts tokens (and users) on a random shard, pinned to the app epoch read. */
export function uncount(orgId: string, appId: string, appEpoch: number, tokens: number, users: number): Write {
  return updateWrite({
    Key: appKeys.shard(orgId, appId, randomShard()),
    UpdateExpression: 'ADD activeTokenCount :tokens, userCount :users',
    ConditionExpression: 'revokeEpoch = :appEpoch',
    ExpressionAttributeValues: { ':tokens': -tokens, ':users': -users, ':appEpoch': appEpoch },
  });
}

/**
 * Takes the app out of the active list when its counters show no active token, atomically with
 * a check that no shard's count moved since they were read (a registration in between wins).
 */
export async function deactivateIfIdle(orgId: string, appId: string): Promise<void> {
  const app = await getAppWithCounters(orgId, appId);
  if (!app?.active || app.activeTokenCount !== 0) return;
  const unlisted = removeClause(activeListAttributes, 'r');
  const deactivate = (Key: Key, condition: string, values: Item) => updateWrite({
    Key,
    UpdateExpression: `SET active = :false REMOVE ${unlisted.parts.join(', ')}`,
    ConditionExpression: condition,
    ExpressionAttributeNames: unlisted.names,
    ExpressionAttributeValues: { ':false': false, ...values },
  });
  await commit([
    deactivate(appKeys.app(orgId, appId), 'active = :true', { ':true': true }),
    ...app.shards.map((s) => deactivate(appKeys.shard(orgId, appId, s.shard), 'activeTokenCount = :seen', { ':seen': s.activeTokenCount })),
  ]);
}

export interface AppChange {
  /** The version the change was computed from; the write fails if the app moved on. */
  expectedVersion: number;
  patch: AppPatch;
  updatedAt: string;
}

/**
 * A change of settings (policies included): the row first (version + 1, only if still
 * `expectedVersion`), then on every shard what the shards copy and the name in their index sort keys.
 */
export function changeAppWrites(orgId: string, appId: string, change: AppChange): Write[] {
  const name = change.patch.name;
  const nameKeys = (shard?: number) => (name === undefined ? {} : {
    [gsi1.sortKey]: appKeys.byName(orgId, name, appId, shard)[gsi1.sortKey],
    [gsi2.sortKey]: appKeys.activeByName(orgId, name, appId, shard)[gsi2.sortKey],
  });
  const update = (Key: Key, attributes: Item, extra: { condition?: string; values?: Item; add?: string } = {}) => {
    const set = setClause(attributes, 's');
    return updateWrite({
      Key,
      UpdateExpression: `SET ${set.parts.join(', ')}${extra.add ? ` ADD ${extra.add}` : ''}`,
      ConditionExpression: extra.condition ?? 'attribute_exists(pk)',
      ExpressionAttributeNames: set.names,
      ExpressionAttributeValues: { ...set.values, ...extra.values },
    });
  };
  const shardCopies = (shard: number) => ({ ...pick(change.patch, copiedOnShards), ...nameKeys(shard) });
  return [
    update(appKeys.app(orgId, appId), { ...pick(change.patch, settings), updatedAt: change.updatedAt, ...nameKeys() }, {
      condition: 'version = :expected', values: { ':expected': change.expectedVersion, ':one': 1 }, add: 'version :one',
    }),
    ...(Object.keys(shardCopies(0)).length ? shardNumbers.map((n) => update(appKeys.shard(orgId, appId, n), shardCopies(n))) : []),
  ];
}

/**
 * Revokes every token of the app at once: its epoch goes up on the row (only if still
 * `appEpoch`) and every shard, with the time it did (`revokedAt`), the counters go to zero and the app leaves the active list. Each
 * shard keeps what it counted as `lastRevoked*` (copied within the same atomic write, so the sum
 * is exactly what the revocation took; see `revokedCounts`). `block`: the app is blocked with it
 * (the row, pinned to the epoch read, was not blocked then, as a block is only asked of an unblocked app).
 */
export function revokeAppWrites(orgId: string, appId: string, appEpoch: number, at: string, { block = false } = {}): Write[] {
  const unlisted = removeClause(activeListAttributes, 'r');
  const zeroed = ', lastRevokedEpoch = :next, lastRevokedTokens = activeTokenCount, lastRevokedUsers = userCount, activeTokenCount = :zero, userCount = :zero';
  const revoke = (Key: Key, counters: boolean, condition?: string) => updateWrite({
    Key,
    UpdateExpression: `SET revokeEpoch = :next, revokedAt = :at, active = :false${counters ? zeroed : ''}${block ? ', blocked = :true' : ''} REMOVE ${unlisted.parts.join(', ')}`,
    ConditionExpression: condition ?? 'attribute_exists(pk)',
    ExpressionAttributeNames: unlisted.names,
    ExpressionAttributeValues: {
      ':next': appEpoch + 1, ':at': at, ':false': false, ...(counters ? { ':zero': 0 } : {}), ...(condition ? { ':seen': appEpoch } : {}), ...(block ? { ':true': true } : {}),
    },
  });
  return [revoke(appKeys.app(orgId, appId), false, 'revokeEpoch = :seen'), ...shardNumbers.map((n) => revoke(appKeys.shard(orgId, appId, n), true))];
}

/**
 * Unblocks the app (the row only if it is still blocked, at the epoch read): registrations are
 * taken again, and the time watermark moves to now, so a JWT of a trusted issuer issued while the
 * app was blocked, seen for the first time after, is revoked too (contract section 9's time rule).
 */
export function unblockAppWrites(orgId: string, appId: string, appEpoch: number, at: string): Write[] {
  const unblock = (Key: Key, condition: string) => updateWrite({
    Key,
    UpdateExpression: 'SET blocked = :false, revokedAt = :at',
    ConditionExpression: condition,
    ExpressionAttributeValues: { ':false': false, ':at': at, ...(condition.includes(':seen') ? { ':seen': appEpoch, ':true': true } : {}) },
  });
  return [unblock(appKeys.app(orgId, appId), 'revokeEpoch = :seen AND blocked = :true'), ...shardNumbers.map((n) => unblock(appKeys.shard(orgId, appId, n), 'attribute_exists(pk)'))];
}

/**
 * The tokens and users the all-tokens revocation that raised the app to `appEpoch` revoked,
 * summed over the shards; undefined once a later one has taken their place.
 */
export function revokedCounts(shards: AppShard[], appEpoch: number): { tokens: number; users: number } | undefined {
  if (shards.length !== APP_SHARDS || shards.some((s) => s.lastRevokedEpoch !== appEpoch)) return undefined;
  return { tokens: shards.reduce((sum, s) => sum + (s.lastRevokedTokens ?? 0), 0), users: shards.reduce((sum, s) => sum + (s.lastRevokedUsers ?? 0), 0) };
}

/**
 * Moves a shard's `lastUsedAt` forward, but only if it is older than `staleBefore`: each shard of
 * a busy app is then written about once a minute for this, not once per introspection.
 */
export async function touchShardLastUsed(shard: AppShard, at: string, staleBefore: string): Promise<void> {
  await conditionalUpdate({
    Key: appKeys.shard(shard.orgId, shard.appId, shard.shard),
    UpdateExpression: 'SET lastUsedAt = :at',
    ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :stale)',
    ExpressionAttributeValues: { ':at': at, ':stale': staleBefore },
  });
}

/** Moves one shard's counters by the app's drift, only if that shard is still as read. */
export async function repairShardCounters(shard: AppShard, users: number, tokens: number): Promise<void> {
  await conditionalUpdate({
    Key: appKeys.shard(shard.orgId, shard.appId, shard.shard),
    UpdateExpression: 'ADD activeTokenCount :tokens, userCount :users',
    ConditionExpression: 'revokeEpoch = :epoch AND activeTokenCount = :seenTokens AND userCount = :seenUsers',
    ExpressionAttributeValues: { ':tokens': tokens, ':users': users, ':epoch': shard.revokeEpoch, ':seenTokens': shard.activeTokenCount, ':seenUsers': shard.userCount },
  });
}

/** Creates an app with its audit event; false when the appId is taken. */
export async function insertApp(app: App, also: Write[]): Promise<boolean> {
  const failed = await commitOrFailures([...createAppWrites(app), ...also]);
  if (failed?.includes(0)) return false;
  if (failed) throw new Error('Creating the app conflicted with a concurrent write');
  return true;
}
