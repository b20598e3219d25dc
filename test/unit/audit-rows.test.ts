import { describe, expect, it } from 'vitest';
import { csvCell, exportFormats } from '../../shared/domain/audit-rows.js';

describe('an audit export\'s CSV cells', () => {
  it('quote every value, double inner quotes, and leave null and empty cells empty', () => {
    expect(csvCell('crm')).toBe('"crm"');
    expect(csvCell('say "hi", then go\r\nhome')).toBe('"say ""hi"", then go\r\nhome"');
    expect(csvCell(null)).toBe('');
    expect(csvCell('')).toBe('');
  });

  it('defuse what a spreadsheet would run as a formula (OWASP: = + - @ tab carriage return), ids included', () => {
    for (const value of ['=HYPERLINK("http://x")', '+1', '-x7', '@SUM(A1)', '\t=1', '\r=1']) expect(csvCell(value)).toBe(`"'${value.replaceAll('"', '""')}"`);
    expect(csvCell('a=1')).toBe('"a=1"');
  });

  it('write the contract\'s columns, a row a line (CRLF); NDJSON writes the event as it is', () => {
    const event = {
      eventId: 'evt_1', at: '2026-11-28T16:30:00.000Z', actor: { sub: '-admin', kind: 'user' as const }, action: 'app.created' as const,
      appId: 'crm', userId: null, tokenId: null, jobId: null, reason: 'a,b', details: { n: 1 },
    };
    expect(exportFormats.csv.header).toBe('eventId,at,actorSub,actorKind,action,appId,userId,tokenId,jobId,reason\r\n');
    expect(exportFormats.csv.row(event)).toBe('"evt_1","2026-11-28T16:30:00.000Z","\'-admin","user","app.created","crm",,,,"a,b"\r\n');
    expect(JSON.parse(exportFormats.ndjson.row(event))).toEqual(event);
    expect(exportFormats.ndjson.row(event).endsWith('}\n')).toBe(true);
  });
});
