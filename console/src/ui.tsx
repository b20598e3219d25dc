import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useId, useRef, useState } from 'preact/hooks';
import type * as UsageChartModule from './usage-chart.js';
import { api, ApiError, type Schemas } from './api.js';
import { signIn } from './auth.js';
import { editionList } from '../../shared/editions.js';

const numbers = new Intl.NumberFormat();
const dates = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A count with the viewer's thousands separators. */
export const count = (n: number) => numbers.format(n);

/** A time in the viewer's locale and time zone; the exact ISO time on hover. */
export function Time({ iso, never = 'Never' }: { iso: string | null | undefined; never?: string }) {
  if (!iso) return <span class="muted">{never}</span>;
  return <time dateTime={iso} title={iso}>{dates.format(new Date(iso))}</time>;
}

export interface Load<T> {
  data?: T | undefined;
  error?: ApiError | undefined;
  loading: boolean;
  reload: () => void;
}

/** Loads what a page shows; `reload` loads it again (after a change, or from Retry). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Load<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error: error instanceof ApiError ? error : new ApiError(0, undefined), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  return { ...state, reload: useCallback(() => setRound((r) => r + 1), []) };
}

/** What went wrong, never a blank page: a retry for failures that may pass. */
export function ErrorNotice({ error, retry }: { error: ApiError; retry?: () => void }) {
  if (error.kind === 'edition-not-supported') return <EditionNotice />;
  const transient = error.status === 0 || error.status >= 500 || error.status === 429;
  return (
    <div class="notice error" role="alert">
      <p><strong>{error.status === 404 ? 'Not found.' : transient ? 'Something went wrong.' : 'The request was refused.'}</strong> {error.message}</p>
      {retry && <button type="button" onClick={retry}>Retry</button>}
      {error.kind === 'gateway-refused' && <button type="button" onClick={() => void signIn(location.pathname + location.search)}>Sign in again</button>}
    </div>
  );
}

export function EditionNotice() {
  return (
    <section class="notice">
      <h1>Not available in your edition</h1>
      <p>OAuth Usage is available in the {editionList} editions. Ask your administrator about upgrading.</p>
    </section>
  );
}

/** Shows the `<dialog>` modally while mounted: Esc closes it, and focus returns where it was. */
export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement as HTMLElement | null;
    dialog?.showModal();
    return () => {
      dialog?.close();
      opener?.focus();
      // Closing and removing the dialog can still move focus to <body> after this: put it back once both are done.
      requestAnimationFrame(() => {
        if (opener?.isConnected && (document.activeElement === null || document.activeElement === document.body)) opener.focus();
      });
    };
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="dialog-title" onClose={onClose} onCancel={(e) => { e.preventDefault(); onClose(); }}>
      <h2 id="dialog-title">{title}</h2>
      {children}
    </dialog>
  );
}

/** A dialog that asks to confirm one irreversible action: what it does, why the last attempt was refused, the action and Cancel. */
export function ConfirmDialog({ title, action, error, onConfirm, onClose, children }: {
  title: string; action: string; error: ApiError | undefined; onConfirm: () => void; onClose: () => void; children: ComponentChildren;
}) {
  return (
    <Dialog title={title} onClose={onClose}>
      {children}
      {error && <ErrorNotice error={error} />}
      <div class="actions">
        <button type="button" class="danger" onClick={onConfirm}>{action}</button>
        <button type="button" class="secondary" onClick={onClose}>Cancel</button>
      </div>
    </Dialog>
  );
}

type Job = Schemas['RevocationJob'];

/** What a job has done: users (apps, for an offboarding or an erasure) and tokens. */
export const progressText = ({ kind, progress }: Pick<Job, 'kind' | 'progress'>) => {
  if (kind === 'personal-data-erasure') return `${'appsDone' in progress ? count(progress.appsDone) : 0} apps' usage erased`;
  return `${'appsDone' in progress ? `${count(progress.appsDone)} apps` : `${count(progress.usersDone)} users`} done, ${count(progress.tokensRevoked)} tokens revoked`;
};
/** What a job is, as its progress line names it. */
const jobNoun = (job: Pick<Job, 'kind'> | undefined) => (job?.kind === 'personal-data-erasure' ? 'Erasure' : 'Revocation');
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** A job's progress in a live region, polled until it ends (or is scheduled); then `onDone`. `erasure`: it erases personal data. */
export function JobProgress({ jobId, onDone, erasure = false }: { jobId: string; onDone: () => void; erasure?: boolean }) {
  const isDone = (j: Job) => FINAL.has(j.status) || j.status === 'scheduled';
  const { value: job, error } = usePolling(jobId, async (id) => (await api('get', '/v1/revocation-jobs/{jobId}', { path: { jobId: id } })).body, isDone, { intervalMs: 500 });
  useEffect(() => {
    if (job && isDone(job)) onDone();
  }, [job?.status]);
  return (
    <p role="status" class={`job ${job?.status ?? 'queued'}`}>
      {error ? `The ${erasure ? 'erasure' : 'revocation'} job could not be read: ${error.message}`
        : !job ? `${erasure ? 'Erasure' : 'Revocation'} requested…`
        : job.status === 'scheduled' ? <>Revocation scheduled for <Time iso={job.runAt} />.</>
        : <>{jobNoun(job)} {job.status}: {progressText(job)}.{job.error ? ` ${job.error}` : ''}</>}
    </p>
  );
}

/**
 * Asks `load(key)` again and again until `isFinal` says its answer is the last: every `intervalMs`,
 * backing off (doubling, to `maxIntervalMs`) while the service does not answer (network, 5xx, 429),
 * and stopping with the error when it refuses (another 4xx: asking again would not help).
 * A new `key` starts over; leaving the page stops it.
 */
export function usePolling<T>(key: string | undefined, load: (key: string) => Promise<T>, isFinal: (value: T) => boolean, { intervalMs = 700, maxIntervalMs = 5000 } = {}) {
  const [state, setState] = useState<{ value?: T; error?: ApiError; retrying: boolean }>({ retrying: false });
  useEffect(() => {
    setState({ retrying: false });
    if (key === undefined) return undefined;
    let live = true;
    let wait = intervalMs;
    const poll = async () => {
      try {
        const value = await load(key);
        if (!live) return;
        setState({ value, retrying: false });
        wait = intervalMs;
        if (isFinal(value)) return;
      } catch (e) {
        if (!live) return;
        const failure = e instanceof ApiError ? e : new ApiError(0, undefined);
        if (failure.status !== 0 && failure.status < 500 && failure.status !== 429) return setState((s) => ({ ...s, error: failure, retrying: false }));
        setState((s) => ({ ...s, retrying: true }));
        wait = Math.min(maxIntervalMs, wait * 2);
      }
      setTimeout(() => { if (live) void poll(); }, wait);
    };
    void poll();
    return () => {
      live = false;
    };
  }, [key]);
  return state;
}

/** Previous / Next over the API's cursors: the cursors seen so far are kept to go back. `label` names the pager's landmark (unique on its page). */
export function usePaging(key: string, label = 'Pages') {
  const [stack, setStack] = useState<(string | undefined)[]>([undefined]);
  useEffect(() => setStack([undefined]), [key]);
  const cursor = stack[stack.length - 1];
  return {
    cursor,
    pager: (next: string | null) => (
      <nav class="pager" aria-label={label}>
        <button type="button" disabled={stack.length < 2} onClick={() => setStack((s) => s.slice(0, -1))}>Previous</button>
        <button type="button" disabled={!next} onClick={() => next && setStack((s) => [...s, next])}>Next</button>
      </nav>
    ),
  };
}

/** A labelled form field, with the API's message for it when it named it. */
export function Field({ label, id, error, children, hint }: { label: string; id: string; error?: string | undefined; hint?: string; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children}
      {hint && <small id={`${id}-hint`}>{hint}</small>}
      {error && <small id={`${id}-error`} class="field-error">{error}</small>}
    </div>
  );
}

/**
 * The attributes of a table's horizontal scroll box (narrow screens): a named region that takes
 * keyboard focus, so it can be scrolled without a mouse whether or not its rows hold links yet.
 */
export const scrollingTable = (label: string) => ({ class: 'table', role: 'region' as const, 'aria-label': label, tabIndex: 0 });

/**
 * Usage over time (the last 30 days) from `load`, drawn once the chart's module arrives: it is
 * loaded after the first paint. `source` names what is drawn (the app, or the app and user): a
 * new one loads again. A module that fails to load (a network blip, or a deploy that replaced
 * it) is said, with Retry.
 */
export function UsageOverTime({ load, label, source }: { load: () => Promise<{ days: { date: string; uses: number; activeUsers?: number }[] }>; label: string; source: string }) {
  const usage = useLoad(load, [source]);
  const [chart, setChart] = useState<typeof UsageChartModule>();
  const [chartFailed, setChartFailed] = useState(false);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let live = true;
    import('./usage-chart.js').then((module) => live && setChart(module), () => live && setChartFailed(true));
    return () => {
      live = false;
    };
  }, [attempt]);
  const heading = `usage-over-time-${useId()}`;
  const retryChart = () => {
    // A chunk a newer deploy replaced is gone for good: the page itself loads the new one.
    if (attempt > 0) return location.reload();
    setChartFailed(false);
    setAttempt(attempt + 1);
  };
  return (
    <section aria-labelledby={heading}>
      <h2 id={heading}>Usage over time</h2>
      {usage.error ? <ErrorNotice error={usage.error} retry={usage.reload} />
        : chartFailed ? <ErrorNotice error={new ApiError(0, { type: 'about:blank', title: 'The chart could not be loaded', status: 0, detail: 'The chart could not be loaded.' })} retry={retryChart} />
        : !usage.data || !chart ? <p aria-busy="true">Loading…</p>
        : <chart.UsageChart days={usage.data.days} label={label} busy={usage.loading} />}
    </section>
  );
}
