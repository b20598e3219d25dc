import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditEvent } from '../../shared/model.js';

// Steps of ten pages (1,000 events), so a few thousand events take several steps, carries and parts.
vi.hoisted(() => {
  process.env.EXPORT_STEP_PAGES = '10';
});

const { serveDownload } = await import('../../local/downloads.js');
const { eventItem } = await import('../../shared/db/audit-event.js');
const { openDownload } = await import('../../shared/export-download.js');
const { storeItems } = await import('../support/jobs.js');
const { as, call, createApp } = await import('../support/api.js');
const { drainQueue, dropQueue, duplicateQueue, pollQueueOnce } = await import('../support/queue.js');
const { sweepOrg } = await import('../../shared/domain/sweep.js');
const { STALL_AFTER_MS } = await import('../../shared/domain/revocations.js');
const { auditExportKeys } = await import('../../shared/db/audit-export.js');
const { getItem } = await import('../../shared/db/requests.js');
const { db, TableName } = await import('../../shared/db/client.js');
const { DeleteCommand } = await import('@aws-sdk/lib-dynamodb');
const { table } = await import('../../shared/db/table.js');
const { filesClient } = await import('../../shared/export-files.js');

/** POST /v1/audit-exports and GET /v1/audit-exports/{exportId} (contract section 5). */
const admin = as('org-exports');
let server: Server;
let origin: string;

beforeAll(async () => {
  // The local server's downloads alone (what S3 serves deployed).
  server = createServer((req, res) => {
    void serveDownload(req, res).then((served) => served || res.writeHead(404).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** The link an answer gave, on this test's server (the links name the local server's configured origin). */
const fetchDownload = (url: string) => fetch(new URL(new URL(url).pathname, origin));

/** Every event of the list for these filters, walked with its cursors. */
async function listAll(claims: ReturnType<typeof as>, query: Record<string, string>) {
  const events: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  do {
    const reply = await call('listAuditEvents', { claims, query: { ...query, limit: '100', ...(cursor ? { cursor } : {}) } });
    expect(reply.status, reply.text).toBe(200);
    events.push(...(reply.body.items ?? []));
    cursor = (reply.body.nextCursor as string | null) ?? undefined;
  } while (cursor);
  return events;
}

/** Asks for an export, runs the worker until the queue is empty (each round's messages delivered twice, when asked), and answers the finished export. */
async function exportOf(claims: ReturnType<typeof as>, body: unknown, { duplicates = false } = {}) {
  const created = await call('createAuditExport', { claims, json: body });
  expect(created.status, created.text).toBe(202);
  expect(created.headers.location).toBe(`/v1/audit-exports/${String(created.body.exportId)}`);
  expect(created.body.status).toBe('queued');
  for (let round = 0; round < 100; round++) {
    if (duplicates && (await duplicateQueue()) === 0) break;
    if ((await drainQueue({ invocations: 1 })) === 0) break;
  }
  await drainQueue();
  const done = await call('getAuditExport', { claims, path: { exportId: String(created.body.exportId) } });
  expect(done.status, done.text).toBe(200);
  return done.body;
}

/** RFC 4180 CSV, every cell as text. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++; } else cell += c;
  }
  expect(cell, 'the file ends with a line break').toBe('');
  return rows;
}

describe('an audit export', () => {
  beforeAll(async () => {
    // Values a spreadsheet would run as formulas, and separators and quotes inside values.
    await createApp(admin.org_id as string, 'crm');
    await createApp(admin.org_id as string, '=SUM(1,2)"x');
    await createApp(admin.org_id as string, '-x7');
    expect((await call('approveUser', { claims: admin, path: { appId: 'crm', userId: '@ada' } })).status).toBe(201);
    expect((await call('approveUser', { claims: as('org-exports', { sub: '+bob' }), path: { appId: '-x7', userId: 'carol' } })).status).toBe(201);
    const blocked = await call('blockApp', { claims: admin, path: { appId: 'crm' }, json: { reason: 'line one\nsaid "stop", then\t=cmd' } });
    expect(blocked.status, blocked.text).toBe(202);
    await drainQueue();
    // Another org's events, which no export of this org holds.
    await createApp('org-exports-other', 'crm');
  });

  it('holds exactly the rows of the list for the same filters, in NDJSON', async () => {
    const exp = await exportOf(admin, { format: 'ndjson' });
    expect(exp).toMatchObject({ status: 'succeeded', format: 'ndjson', requestedBy: admin.sub, error: null });
    const listed = await listAll(admin, { until: String((exp.filters as { until: string }).until) });
    expect(listed.some((e) => e.action === 'audit.exported'), 'the export\'s own event is after its until').toBe(false);
    const file = await fetchDownload(String(exp.downloadUrl));
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/x-ndjson');
    expect(file.headers.get('content-disposition')).toBe(`attachment; filename="audit-${String(exp.exportId)}.ndjson"`);
    const text = await file.text();
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual(listed);
    expect(exp.rows).toBe(listed.length);
    expect(exp.bytes).toBe(Buffer.byteLength(text));
  });

  it('writes CSV with the contract\'s columns, every value quoted and formulas defused, ids included', async () => {
    const exp = await exportOf(admin, { format: 'csv', filters: { action: ['app.created', 'app.approved-users.changed', 'app.blocked'] } });
    const listed = await listAll(admin, { action: 'app.created,app.approved-users.changed,app.blocked', until: String((exp.filters as { until: string }).until) });
    const file = await fetchDownload(String(exp.downloadUrl));
    expect(file.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const [header, ...rows] = parseCsv(await file.text());
    expect(header).toEqual(['eventId', 'at', 'actorSub', 'actorKind', 'action', 'appId', 'userId', 'tokenId', 'jobId', 'reason']);
    const defused = (value: unknown) => (typeof value !== 'string' ? '' : /^[=+\-@\t\r]/.test(value) ? `'${value}` : value);
    expect(rows).toEqual(listed.map((e) => {
      const actor = e.actor as { sub: string; kind: string };
      return [e.eventId, e.at, actor.sub, actor.kind, e.action, e.appId, e.userId, e.tokenId, e.jobId, e.reason].map(defused);
    }));
    const cells = rows.flat();
    expect(cells).toContain('\'=SUM(1,2)"x');
    expect(cells).toContain('\'-x7');
    expect(cells).toContain('\'@ada');
    expect(cells).toContain('\'+bob');
    expect(cells).toContain('line one\nsaid "stop", then\t=cmd');
    expect(rows.length).toBe(6); // three apps created, two approvals, one block; the other org's app is not here
  });

  it('narrows by app, user, actor and time as the list does', async () => {
    const all = await listAll(admin, {});
    const since = String(all.at(-2)?.at);
    for (const filters of [{ appId: 'crm' }, { userId: 'carol' }, { actor: '+bob' }, { appId: 'crm', userId: '@ada' }, { since }, { action: ['app.blocked'], appId: 'crm' }]) {
      const exp = await exportOf(admin, { format: 'ndjson', filters });
      const query = Object.fromEntries(Object.entries({ ...filters, until: (exp.filters as { until: string }).until }).map(([k, v]) => [k, [v].flat().join(',')]));
      const listed = await listAll(admin, query);
      expect(listed.length, JSON.stringify(filters)).toBeGreaterThan(0);
      const text = await (await fetchDownload(String(exp.downloadUrl))).text();
      expect(text.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown), JSON.stringify(filters)).toEqual(listed);
    }
  });

  it('is audited as audit.exported with its id, format and filters', async () => {
    const created = await call('createAuditExport', { claims: admin, json: { format: 'csv', filters: { appId: 'crm', since: '2026-01-01T00:00:00+01:00' } } });
    const [event] = (await call('listAuditEvents', { claims: admin, query: { action: 'audit.exported', limit: '1' } })).body.items ?? [];
    expect(event).toMatchObject({
      action: 'audit.exported', actor: { sub: admin.sub, kind: 'user' }, appId: null,
      details: { exportId: created.body.exportId, format: 'csv', filters: { appId: 'crm', since: '2025-12-31T23:00:00.000Z', until: created.body.createdAt } },
    });
    await drainQueue();
  });

  it('answers the same export to a retry with the same Idempotency-Key, and 422 to another body', async () => {
    const headers = { 'idempotency-key': 'export-1' };
    const first = await call('createAuditExport', { claims: admin, headers, json: { format: 'csv' } });
    const again = await call('createAuditExport', { claims: admin, headers, json: { format: 'csv' } });
    expect(again.status).toBe(202);
    expect(again.body.exportId).toBe(first.body.exportId);
    const other = await call('createAuditExport', { claims: admin, headers, json: { format: 'ndjson' } });
    expect(other.status).toBe(422);
    await drainQueue();
  });

  it('refuses bad requests naming the field, and hides other orgs\' exports', async () => {
    const cases: [unknown, string][] = [
      [{ format: 'xlsx' }, 'body.format'],
      [{}, 'body.format'],
      [{ format: 'csv', filters: { action: ['app.deleted'] } }, 'body.filters.action.0'],
      [{ format: 'csv', filters: { action: [] } }, 'body.filters.action'],
      [{ format: 'csv', filters: { since: 'yesterday' } }, 'body.filters.since'],
      [{ format: 'csv', filters: { since: '2026-11-02T00:00:00Z', until: '2026-11-01T00:00:00Z' } }, 'body.filters.until'],
      [{ format: 'csv', filters: { appId: 'a/b' } }, 'body.filters.appId'],
      [{ format: 'csv', filters: { since: '2999-01-01T00:00:00Z' } }, 'body.filters.since'],
      [{ format: 'csv', filters: { tokenId: 'x' } }, 'body.filters.tokenId'],
      [{ format: 'csv', columns: ['at'] }, 'body.columns'],
    ];
    for (const [json, field] of cases) {
      const reply = await call('createAuditExport', { claims: admin, json });
      expect(reply.status, JSON.stringify(json)).toBe(400);
      expect((reply.body.errors as { path: string }[]).map((e) => e.path), JSON.stringify(json)).toContain(field);
    }
    const exp = await exportOf(admin, { format: 'csv' });
    expect((await call('getAuditExport', { claims: as('org-exports-other'), path: { exportId: String(exp.exportId) } })).status).toBe(404);
    expect((await call('getAuditExport', { claims: admin, path: { exportId: 'exp_1' } })).status).toBe(400);
    const noScope = await call('createAuditExport', { claims: as('org-exports', { scope: 'tokens:write' }), json: { format: 'csv' } });
    expect(noScope.status).toBe(403);
  });

  it('gives links that need no token, and refuses one altered or expired', async () => {
    const exp = await exportOf(admin, { format: 'csv' });
    const url = new URL(String(exp.downloadUrl));
    const sealed = url.pathname.split('/').at(-1) as string;
    const altered = `${sealed.slice(0, -2)}${sealed.endsWith('AA') ? 'AB' : 'AA'}`;
    expect((await fetch(new URL(`/downloads/${altered}`, origin))).status).toBe(403);
    expect(openDownload(sealed, Date.now())).toBeDefined();
    expect(openDownload(sealed, Date.now() + 15 * 60_000 + 1000), 'expired after 15 minutes').toBeUndefined();
    expect((await fetchDownload(url.href)).status).toBe(200);
  });
});

describe('an export of thousands of events', () => {
  const org = 'org-exports-large';
  const reason = (n: number) => `${n} `.padEnd(1000, 'x');
  const T0 = Date.parse('2026-11-01T00:00:00.000Z');
  let s3Requests: string[] = [];

  beforeAll(async () => {
    // 6,000 events of about 1.1 KB of CSV each: two parts of S3's multipart upload, and carries between.
    const events: AuditEvent[] = Array.from({ length: 6000 }, (_, n) => ({
      orgId: org, eventId: `evt_${(T0 + n).toString(36).padStart(10, '0')}${n.toString(16).padStart(12, '0')}`, at: new Date(T0 + n).toISOString(),
      actor: { sub: n % 3 === 0 ? 'sweep' : 'admin@example.com', kind: n % 3 === 0 ? 'system' : 'user' }, action: n % 2 ? 'token.revoked' : 'revocation.requested',
      appId: `app-${n % 7}`, userId: n % 5 ? `user-${n % 11}` : null, tokenId: null, jobId: null, reason: reason(n), details: { n },
    }));
    await storeItems(events.map(eventItem));
    filesClient.middlewareStack.add((next, context) => async (args) => {
      s3Requests.push(String(context.commandName));
      return next(args);
    }, { step: 'initialize', name: 'countExportRequests' });
  }, 120_000);

  it('is written in parts whatever its size, each step delivered twice, and holds every row once', async () => {
    s3Requests = [];
    const exp = await exportOf(as(org), { format: 'csv' }, { duplicates: true });
    expect(exp.status).toBe('succeeded');
    expect(exp.rows).toBe(6000);
    expect(s3Requests.filter((c) => c === 'CreateMultipartUploadCommand')).toHaveLength(1);
    expect(s3Requests.filter((c) => c === 'UploadPartCommand')).toHaveLength(2);
    expect(s3Requests.filter((c) => c === 'CompleteMultipartUploadCommand')).toHaveLength(1);
    const [header, ...rows] = parseCsv(await (await fetchDownload(String(exp.downloadUrl))).text());
    expect(header?.[0]).toBe('eventId');
    expect(rows).toHaveLength(6000);
    expect(rows.map((r) => Number(r[9]?.split(' ')[0]))).toEqual(Array.from({ length: 6000 }, (_, n) => 5999 - n)); // newest first, each once
  }, 120_000);

  it('holds a sparse filter\'s few rows, read across many steps', async () => {
    const exp = await exportOf(as(org), { format: 'ndjson', filters: { actor: 'sweep', appId: 'app-3', action: ['token.revoked'] } });
    const listed = await listAll(as(org), { actor: 'sweep', appId: 'app-3', action: 'token.revoked', until: String((exp.filters as { until: string }).until) });
    expect(listed.length).toBeGreaterThan(100);
    const text = await (await fetchDownload(String(exp.downloadUrl))).text();
    expect(text.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual(listed);
  }, 120_000);
});

describe('an export whose work was lost', () => {
  const org = 'org-exports-lost';
  const round = (now: number) => sweepOrg({ kind: 'sweep-org', orgId: org, buckets: [] }, now);
  const statusOf = async (exportId: string) => (await call('getAuditExport', { claims: as(org), path: { exportId } })).body;

  beforeAll(async () => {
    await createApp(org, 'crm');
    await createApp(org, 'hr');
  });

  it('is found by the sweep once it stalls, its step sent again, and finishes; a finished one is looked at no more', async () => {
    const created = await call('createAuditExport', { claims: as(org), json: { format: 'ndjson' } });
    expect(created.status, created.text).toBe(202);
    const exportId = String(created.body.exportId);
    expect(await dropQueue()).toBe(1); // its first step, lost (the process died after the commit, or the message went to the DLQ)
    // Before it stalls the sweep leaves it alone; after, it sends the step again.
    expect((await round(Date.now() + STALL_AFTER_MS / 2)).exportsResumed).toBe(0);
    expect((await round(Date.now() + STALL_AFTER_MS + 1000)).exportsResumed).toBe(1);
    await drainQueue();
    const done = await statusOf(exportId);
    expect(done).toMatchObject({ status: 'succeeded', rows: 2 });
    expect((await round(Date.now() + 3 * STALL_AFTER_MS)).exportsResumed).toBe(0);
    // Out of the due index, and no longer counted against the org's limit.
    expect((await getItem(auditExportKeys.export(org, exportId)))?.[table.indexes.gsi4.partitionKey]).toBeUndefined();
    expect((await getItem(auditExportKeys.unfinished(org)))?.exportIds).toBeUndefined();
  });

  it('goes on from the step it recorded when the next one was lost, and holds every row once', async () => {
    const created = await call('createAuditExport', { claims: as(org), json: { format: 'ndjson', filters: { appId: 'crm' } } });
    expect(await pollQueueOnce(1)).toBe(1); // step 0 written and recorded (the file is small: step 1 ends it)
    const lost = await dropQueue();
    expect(lost).toBe(1);
    expect((await round(Date.now() + STALL_AFTER_MS + 1000)).exportsResumed).toBe(1);
    await drainQueue();
    const done = await statusOf(String(created.body.exportId));
    expect(done).toMatchObject({ status: 'succeeded', rows: 1 });
    const text = await (await fetchDownload(String(done.downloadUrl))).text();
    expect(text.trimEnd().split('\n')).toHaveLength(1);
  });

  it('ends failed after five resumptions without progress', async () => {
    const created = await call('createAuditExport', { claims: as(org), json: { format: 'csv' } });
    const exportId = String(created.body.exportId);
    let now = Date.now();
    for (let attempt = 1; attempt <= 5; attempt++) {
      await dropQueue();
      now += STALL_AFTER_MS + 1000;
      expect((await round(now)).exportsResumed).toBe(1);
    }
    await dropQueue();
    now += STALL_AFTER_MS + 1000;
    expect(await round(now)).toMatchObject({ exportsResumed: 0, exportsFailed: 1 });
    expect(await statusOf(exportId)).toMatchObject({ status: 'failed', error: expect.stringContaining('no progress') as unknown, downloadUrl: null });
  });

  it('answers 429 with Retry-After to an org with 10 exports still running, and takes another once one finished', async () => {
    const capped = as('org-exports-capped');
    await createApp('org-exports-capped', 'crm');
    // Twelve at once: ten pass, whatever their order.
    const replies = await Promise.all(Array.from({ length: 12 }, () => call('createAuditExport', { claims: capped, json: { format: 'csv' } })));
    expect(replies.map((r) => r.status).sort()).toEqual([...Array<number>(10).fill(202), 429, 429]);
    const refused = replies.find((r) => r.status === 429) as (typeof replies)[number];
    expect(refused.headers['retry-after']).toBe('30');
    expect(refused.body).toMatchObject({ type: expect.stringContaining('too-many-requests') as unknown, detail: expect.stringContaining('10 audit exports') as unknown });
    // One whose record went (DynamoDB's TTL) without a write that took it out: the org's set heals at the limit.
    const gone = String(replies.find((r) => r.status === 202)?.body.exportId);
    await db.send(new DeleteCommand({ TableName, Key: auditExportKeys.export('org-exports-capped', gone) }));
    expect((await call('createAuditExport', { claims: capped, json: { format: 'csv' } })).status).toBe(202);
    expect((await call('createAuditExport', { claims: capped, json: { format: 'csv' } })).status).toBe(429);
    await drainQueue();
    expect((await call('createAuditExport', { claims: capped, json: { format: 'csv' } })).status).toBe(202);
    await drainQueue();
    expect((await getItem(auditExportKeys.unfinished('org-exports-capped')))?.exportIds).toBeUndefined();
  });
});
