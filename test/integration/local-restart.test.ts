import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getAuditExport } from '../../shared/db/audit-export.js';
import { getJob } from '../../shared/db/job.js';
import { as, call, createApp, rawToken, register } from '../support/api.js';
import { dropQueue } from '../support/queue.js';

/**
 * `npm start` after a Ctrl-C in the middle of a job: the job is in the table, its messages died
 * with the old in-memory queue. The new server must resume it at once, not after the stall check.
 */
const org = 'org-restart';
let server: ChildProcess | undefined;

const freePort = () => new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as AddressInfo;
    probe.close(() => resolve(port));
  });
});

afterAll(async () => {
  // Waited for: the server stops what it started (DynamoDB Local, the SQS emulator) on its way out.
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((resolve) => server?.once('exit', resolve));
  server.kill('SIGTERM');
  await exited;
});

describe('npm start', () => {
  it('resumes the jobs and audit exports that were queued or running when it stopped', { timeout: 60_000 }, async () => {
    await createApp(org, 'interrupted');
    for (const userId of ['ada', 'bob', 'cy']) expect((await register(org, { token: rawToken('r'), type: 'access', appId: 'interrupted', userId })).status).toBe(201);
    const reply = await call('requestRevocation', { claims: as(org), path: { appId: 'interrupted' }, json: { all: true } });
    expect(reply.status).toBe(202);
    const exported = await call('createAuditExport', { claims: as(org), json: { format: 'csv' } });
    expect(exported.status).toBe(202);
    expect(await dropQueue()).toBe(2); // the plan message and the export's first step, lost with the old server
    const jobId = reply.body.jobId as string;

    server = spawn(join('node_modules', '.bin', 'tsx'), ['local/main.ts'], {
      env: {
        ...process.env, PORT: String(await freePort()), DATA_DIR: mkdtempSync(join(tmpdir(), 'ou-restart-')),
        // The same table; the stall check far away, so only the resume at start can finish the job.
        SWEEP_INTERVAL_SECONDS: '3600', JOB_STALL_SECONDS: '3600', QUEUE_URL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    server.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    server.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });

    const deadline = Date.now() + 45_000;
    while ((await getJob(org, jobId))?.status !== 'succeeded' || (await getAuditExport(org, String(exported.body.exportId)))?.status !== 'succeeded') {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`the job and the export did not finish; server output:\n${output}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(output).toContain('Resumed 1 unfinished revocation job\n');
    expect(output).toContain('Resumed 1 unfinished audit export\n');
    const app = (await call('getApp', { claims: as(org), path: { appId: 'interrupted' } })).body;
    expect([app.userCount, app.activeTokenCount]).toEqual([0, 0]);
  });
});
