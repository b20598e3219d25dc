import { describe, expect, it } from 'vitest';
import type { Schemas } from '@oauth-usage/client';
import { jobLine, progressBar, table } from '../../clients/cli/src/format.js';

const job = (overrides: Partial<Schemas['RevocationJob']>): Schemas['RevocationJob'] => ({
  jobId: 'job_1', kind: 'revocation', appId: 'crm', target: { userIds: ['a', 'b', 'c', 'd'] }, status: 'running', runAt: null,
  createdAt: '2026-12-07T10:00:00.000Z', startedAt: null, finishedAt: null, requestedBy: 'admin', reason: null,
  progress: { usersDone: 1, tokensRevoked: 7 }, error: null, ...overrides,
});

describe('the CLI on a terminal', () => {
  it('draws a bar filled by the users done of the target, within the terminal width', () => {
    const bar = progressBar(job({}), 100);
    expect(bar).toMatch(/^\[#{10}\.{30}\] job_1 {2}running {2}1\/4 users {2}7 tokens revoked$/);
    expect(progressBar(job({}), 40).length).toBeLessThan(40);
    expect(progressBar(job({ status: 'succeeded', progress: { usersDone: 4, tokensRevoked: 9 } }), 100)).toMatch(/^\[#{40}\] /);
  });

  it('shows the counts alone when the total is unknown (every token of an app, an offboarding)', () => {
    expect(progressBar(job({ target: { all: true } }), 100)).toBe('job_1  running  1 users  7 tokens revoked');
    expect(jobLine(job({ appId: null, target: { userId: 'ada' }, progress: { appsDone: 2, tokensRevoked: 3 } }))).toBe('job_1  running  2 apps  3 tokens revoked');
  });

  it('pads table columns to their widest cell, and says when a list is empty', () => {
    expect(table([{ id: 'a', n: 1 }, { id: 'longer', n: null }], ['id', 'n'])).toBe('id      n\na       1\nlonger  -\n');
    expect(table([], ['id'])).toBe('(none)\n');
  });
});
