/** `YYYY-MM-DDTHH:mm:ss.sssZ`: the one form times are stored, echoed and sorted in (the due index sorts them as text). */
export const isCanonicalTime = (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(s);

/** The last time that has the canonical form: what anything later is clamped to in the due index. */
export const LAST_TIME = '9999-12-31T23:59:59.999Z';

/** A time in the canonical form, clamped to the years 0000–9999. */
export const canonicalTime = (ms: number) => (ms >= Date.parse(LAST_TIME) ? LAST_TIME : new Date(Math.max(ms, Date.parse('0000-01-01T00:00:00.000Z'))).toISOString());

/**
 * The service's one convention for "now": a number of milliseconds since the epoch, read once
 * per request or message (`Date.now()`) and passed down; `iso` writes one in the stored form.
 */
export const iso = (ms: number) => new Date(ms).toISOString();

export const DAY_MS = 86_400_000;
/** The UTC day (`YYYY-MM-DD`) of a time in the canonical form. */
export const dayOf = (at: string) => at.slice(0, 10);
