import { describe, expect, it } from 'vitest';
import { cursors, listAnswer } from '../../shared/domain/paging.js';
import type { ListedPage } from '../../shared/db/requests.js';
import { LAMBDA_MAX_RESPONSE_BYTES } from '../../shared/lambda-limits.js';

// DynamoDB Local sizes a keys-only index page by whole items, so its pages never reach this;
// deployed, a page of 100 jobs read by app and status in one BatchGetItem does.
const org = 'org-pages';
const list = 'jobs\nbig\nsucceeded';
/** A Bulk Revoke's job as listed: 1,000 user ids of 60 characters, quotes included (escaped twice in Lambda's result). */
const bigJob = (n: number) => ({ jobId: `job-${n}`, target: { userIds: Array.from({ length: 1000 }, (_, i) => `u"${String(i).padStart(4, '0')}"${'x'.repeat(52)}`) } });
const pageOf = (count: number): ListedPage<ReturnType<typeof bigJob>> => {
  const items = Array.from({ length: count }, (_, n) => bigJob(n));
  return { items, lastKey: { pk: 'P', sk: 'LAST' }, resumeKeys: items.map((j) => ({ pk: 'P', sk: j.jobId })) };
};
/** The bytes of the function's result for this answer, as Lambda counts them. */
const resultBytes = (answer: unknown) => Buffer.byteLength(JSON.stringify({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(answer) }));

describe('listAnswer', () => {
  it('cuts a page short before Lambda\'s result would pass its limit; the cursor resumes right after the last item kept', () => {
    expect(resultBytes({ items: pageOf(100).items, nextCursor: null })).toBeGreaterThan(LAMBDA_MAX_RESPONSE_BYTES);
    const answer = listAnswer(org, list, pageOf(100), (job) => job);
    expect(answer.items.length).toBeGreaterThan(10);
    expect(answer.items.length).toBeLessThan(100);
    expect(resultBytes(answer)).toBeLessThanOrEqual(LAMBDA_MAX_RESPONSE_BYTES);
    expect(cursors.decode(org, list, answer.nextCursor as string)).toEqual({ pk: 'P', sk: `job-${answer.items.length - 1}` });
  });

  it('answers a page that fits whole, with the page\'s own cursor', () => {
    const answer = listAnswer(org, list, pageOf(10), (job) => job);
    expect(answer.items.map((j) => j.jobId)).toEqual(Array.from({ length: 10 }, (_, n) => `job-${n}`));
    expect(cursors.decode(org, list, answer.nextCursor as string)).toEqual({ pk: 'P', sk: 'LAST' });
  });

  it('resumes after the last item kept when the view leaves items out, and counts only what it shows', () => {
    const whole = listAnswer(org, list, pageOf(100), (job) => job).items.length;
    const leftOut = (n: number) => n % 10 === 0; // 90 left: still more than fits
    const answer = listAnswer(org, list, pageOf(100), (job) => (leftOut(Number(job.jobId.slice(4))) ? undefined : job));
    const shown = answer.items.map((j) => Number(j.jobId.slice(4)));
    expect(shown).toEqual(Array.from({ length: 100 }, (_, n) => n).filter((n) => !leftOut(n)).slice(0, whole));
    expect(resultBytes(answer)).toBeLessThanOrEqual(LAMBDA_MAX_RESPONSE_BYTES);
    expect(cursors.decode(org, list, answer.nextCursor as string)).toEqual({ pk: 'P', sk: `job-${shown.at(-1)}` });
  });
});
