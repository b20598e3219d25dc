import type { AppSettings, ShardCopies } from './db/app.js';
import type { ActorKind, AuditAction } from './registries.js';
import type { JobStatus } from './schemas/revocations.js';
import type { Confirmation, TokenType } from './schemas/tokens.js';

/** The service's records, shared by the domain (which decides on them) and the entity modules in shared/db (which map them to and from items). */
export interface App extends AppSettings {
  orgId: string;
  appId: string;
  createdAt: string;
  updatedAt: string;
  /** Bumped on every change of settings or policies; the ETag. */
  version: number;
  /** App-wide "revoked before" watermark: tokens registered under a lower epoch are revoked. */
  revokeEpoch: number;
  /** The latest of the shards' `lastUsedAt` (each written at most about once a minute). */
  lastUsedAt: string | null;
  /** Listed in OAuth Usage: set by the app's first token, cleared when its counters reach zero. */
  active: boolean;
  /** Blocked (POST …/block): every token was revoked with it, and registrations are refused until it is unblocked. */
  blocked: boolean;
}

/**
 * One of an app's shards: a share of its counters and a copy of what registration and
 * introspection check (the settings shared/db/app.ts marks as copied onto the shards).
 */
export interface AppShard extends ShardCopies {
  orgId: string;
  appId: string;
  shard: number;
  userCount: number;
  activeTokenCount: number;
  revokeEpoch: number;
  lastUsedAt: string | null;
  active: boolean;
  /** A copy of the app's `blocked`, which registration and introspection read here. */
  blocked: boolean;
  /**
   * When the app's `revokeEpoch` last went up, or it was last unblocked (null: neither): learned
   * tokens issued before it are revoked, seen or not.
   */
  revokedAt: string | null;
  /**
   * What the shard counted when the last all-tokens revocation raised the epoch to
   * `lastRevokedEpoch` (absent before the first): what that revocation revoked, exactly.
   */
  lastRevokedEpoch?: number;
  lastRevokedTokens?: number;
  lastRevokedUsers?: number;
}

/** Who acts: the org and subject of a verified caller. */
export interface Actor {
  orgId: string;
  sub: string;
}

export type { ActorKind, AuditAction };

/** An audit log entry; never changed or deleted through the API. */
export interface AuditEvent {
  orgId: string;
  eventId: string;
  at: string;
  actor: { sub: string; kind: ActorKind };
  action: AuditAction;
  appId: string | null;
  userId: string | null;
  tokenId: string | null;
  jobId: string | null;
  reason: string | null;
  details: Record<string, unknown>;
}

/** What an audit export covers: the audit list's filters (`until` always set: the request's time unless earlier). */
export interface AuditExportFilters {
  appId?: string;
  userId?: string;
  actions?: AuditAction[];
  actor?: string;
  since?: string;
  until: string;
}

export type AuditExportFormat = 'csv' | 'ndjson';
export type AuditExportStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/**
 * An export of the audit log (POST /v1/audit-exports), written in steps: each reads pages of the
 * filtered log from `cursor` and adds them to the file, as a part of a multipart upload once the
 * rows waiting fill one (`upload`), else kept in a carry object for the next step (`carry`).
 */
export interface AuditExport {
  orgId: string;
  exportId: string;
  format: AuditExportFormat;
  filters: AuditExportFilters;
  status: AuditExportStatus;
  requestedBy: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  /** Events written so far (the file's rows, its header aside). */
  rows: number;
  /** Steps recorded: the next step's number. */
  step: number;
  /** Where the next step reads the log from (null: the start, or the end once `listEnded`). */
  cursor: Record<string, unknown> | null;
  /** Every event is read: the next step completes the file. */
  listEnded: boolean;
  /** Rows read but not in a part yet (fewer bytes than a part's minimum), in a carry object. */
  carry: { key: string; bytes: number } | null;
  /** The multipart upload, once its first part is written. */
  upload: { uploadId: string; parts: number } | null;
  /** The finished file's size. */
  bytes: number | null;
  /** Until when (epoch ms) a delivery holds the next step, if one does. */
  claimUntil: number | null;
  /** Times the sweep sent a stalled step again since the last recorded one. */
  resumes: number;
}

export interface AppCounters {
  userCount: number;
  activeTokenCount: number;
}

/**
 * The user id an app's own tokens (client credentials: no user) are stored under, so that they
 * are counted, listed, used and revoked like a user's. `%` is in no id (shared/schemas/common.ts),
 * so no real user can name it; answers show no user (`userId: null`, no `sub`), and the client
 * counts in the app's `activeTokenCount` but never in its `userCount` or Usage by User.
 */
export const CLIENT_USER_ID = '%client';
export const isClientUser = (userId: string) => userId === CLIENT_USER_ID;

/** The app id a job of every app of the org (an offboarding, an erasure) is stored under: `%` is in no id, so it lists under no real app. */
export const OFFBOARDING_APP_ID = '%offboarding';

export interface AppUser {
  orgId: string;
  appId: string;
  userId: string;
  userName: string | null;
  firstUsedAt: string | null;
  lastUsedAt: string | null;
  useCount: number;
  activeTokenCount: number;
  /** Per-user "revoked before" watermark for this app. */
  revokeEpoch: number;
  /**
   * The org-wide watermark (`OrgUser.offboardEpoch`) the row's newest token was registered under:
   * an offboarding raises the row (and uncounts it) only while it is below its own, so it never
   * ends a token registered after it.
   */
  lastOrgUserEpoch: number;
  /**
   * The app revocation epoch `activeTokenCount` counts under. An app-wide revocation raises the
   * app's epoch and uncounts every token at once, so a row with an older `countEpoch` holds no
   * counted token, whatever its `activeTokenCount` says, until the user's next registration
   * starts it again under the app's epoch.
   */
  countEpoch: number;
  /**
   * When `revokeEpoch` last went up (null: never). A learned token (contract section 9) may be
   * seen for the first time after its user was revoked: one issued before this time is revoked too.
   */
  revokedAt: string | null;
}

export interface Token {
  orgId: string;
  appId: string;
  userId: string;
  lookupKey: string;
  tokenId: string;
  type: TokenType;
  scopes: string[];
  /** When the authorization server issued it, as it said (default: when it was registered). Never used to order revocations. */
  issuedAt: string;
  /** The resource servers it is meant for (empty: every resource server of the org). */
  audience: string[];
  /** The authorization server's issuer identifier, as registered (introspection's `iss`). */
  issuer: string | null;
  /** A JWT of a trusted issuer, learned when it was first presented: that issuer's id (null for a registered token). */
  learnedFrom: string | null;
  /** A sender-constrained token's confirmation (RFC 7800): a DPoP key's or a certificate's thumbprint. */
  cnf: Confirmation | null;
  /** The expiry fixed at registration (the caller's, capped by accessTokenLifetimeMinutes). */
  expiresAt: string | null;
  /**
   * Until when the raw token could be registered again: the caller's own `expiresAt` (a
   * registration with a past one is refused), or null when the caller gave none. A lifetime cap
   * does not count: registered again, the token would get a new one. A tombstone lasts this long.
   */
  presentableUntil: string | null;
  /** An access token's refresh token: the one it was issued from, as the authorization server named it. */
  refreshTokenId: string | null;
  /**
   * The grant the token belongs to (the id of the grant's first refresh token), or null: an access
   * token issued with no refresh token is a grant of its own, with no grant item. An older version
   * stored none; see `grantRef` in domain/rules.ts for how such tokens are read.
   */
  grantId: string | null;
  /**
   * A refresh token replaced by its successor (rotation): inactive, no longer counted, kept (until
   * it expires) so that presenting it again is recognised as reuse. `successorId` names the token
   * that replaced it, so a retried rotation is told apart from reuse.
   */
  retiredAt: string | null;
  successorId: string | null;
  /** Watermark epochs of the app and the user when the token was registered. */
  appEpoch: number;
  userEpoch: number;
  /** The user's org-wide watermark (shared/db/org-user.ts) when the token was registered: an offboarding raises it. */
  orgUserEpoch: number;
  lastUsedAt: string | null;
  useCount: number;
  /**
   * Stored by an older version on refresh tokens: how many access tokens registered from it were
   * counted (what its grant counts now, once adopted). Read only when such a token is adopted.
   */
  childCount: number;
  /**
   * Set on a tombstone: a revoked token is replaced by a small item that remembers it, so a
   * retried registration of the same raw value is refused and its access tokens stay dead.
   */
  revokedAt: string | null;
  /**
   * On a tombstone a policy left (the session timeout, the refresh-token policy, the lifetime cap),
   * not a revocation: the token is refused again the same way, but the access tokens an older
   * version hung on such a refresh token live on (they do for a policy-ended refresh token of a grant).
   */
  policyEnded: boolean;
  /** When the sweep must look at the token next (expiry, policy, a revoked refresh token's children check); null: never. */
  dueAt: string | null;
}

/**
 * A grant with a refresh token: its state, which every token of it reads (see shared/db/grant.ts).
 * `counted` is how many of its tokens count under its epochs (those it was created under).
 */
export interface Grant {
  orgId: string;
  appId: string;
  userId: string;
  grantId: string;
  counted: number;
  appEpoch: number;
  userEpoch: number;
  revokedAt: string | null;
  version: number;
  /** The latest own expiry of its tokens (its TTL, a margin later); null: one of them never expires. */
  expiresAt: string | null;
  /** Made for access tokens an older version registered from a refresh token that is gone: they count in it one by one. */
  orphan?: boolean;
}

/** A revocation job: immediate in effect (watermarks), then cleaned up through the queue. */
export interface RevocationJob {
  orgId: string;
  jobId: string;
  /** The app; an offboarding, of no one app, is stored under `OFFBOARDING_APP_ID` (answers show null). */
  appId: string;
  target: { all: true } | { userIds: string[] } | { userId: string };
  status: JobStatus;
  runAt: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  requestedBy: string;
  reason: string | null;
  progress: { usersDone: number; tokensRevoked: number };
  /** What the cleanup's checks found and repaired, over all batches (reported in `revocation.completed`). */
  reconciled: { userDrift: number; stragglers: number };
  error: string | null;
  /** All-tokens jobs: the app epoch the revocation raised; tokens under a lower one are its target. */
  appEpoch: number | null;
  /** A started scheduled job whose cleanup waits for a slot among its app's jobs (its targets are inactive already). */
  waiting?: boolean;
  /** Bulk and user jobs: each revoked user's raised epoch; tokens under a lower one are its target. */
  userEpochs: Record<string, number>;
  /**
   * An offboarding (every app of the org): the user and the org-wide epoch it raised; `at`, its
   * time watermark. The apps the user was linked to are raised in the order of their links, a
   * transaction at a time: `raiseCursor` is the last app raised ('' before the first),
   * `raisedApps` how many of them are the job's steps so far (each recorded as a step of its own,
   * `offboardedAppsOf`), `appsRaised` once every one is.
   */
  offboarding?: { userId: string; offboardEpoch: number; raiseCursor: string; raisedApps: number; appsRaised: boolean; at?: string };
  /** A personal-data erasure (DELETE /v1/users/{userId}/personal-data): the user whose name it blanks; it revokes nothing. */
  erasure?: { userId: string };
  /** Planning state: batches sent so far, where the user scan stopped, whether it is done. */
  plannedBatches: number;
  planCursor: Record<string, unknown> | null;
  planComplete: boolean;
  /** Batches whose cleanup finished (each counted once, whatever the redeliveries). */
  doneBatches: number[];
  /**
   * The cleanup pass: 0 at first, one more each time the sweep resumes a job whose work was lost.
   * Messages carry their pass; those of an earlier pass are ignored.
   */
  pass: number;
  /** When the job last moved (started, planned, finished a batch); the sweep resumes it when this gets old. */
  lastProgressAt: string | null;
}
