/**
 * Usage over time, drawn: one bar a day (an SVG that screen readers read as one image with its
 * summary), and the same numbers as a table beside it. Loaded after the page's first paint
 * (ui.tsx's `UsageOverTime`), so it costs the first load nothing.
 */
import { useId } from 'preact/hooks';
import { count } from './ui.js';

export interface UsageDay { date: string; uses: number; activeUsers?: number }

export function UsageChart({ days, label, busy = false }: { days: UsageDay[]; label: string; busy?: boolean }) {
  const peak = days.reduce((best, d) => (d.uses > (best?.uses ?? -1) ? d : best), days[0]);
  const total = days.reduce((sum, d) => sum + d.uses, 0);
  const max = Math.max(1, peak?.uses ?? 0);
  const withUsers = days.some((d) => d.activeUsers !== undefined);
  const mostUsers = Math.max(0, ...days.map((d) => d.activeUsers ?? 0));
  const summary = total === 0
    ? `${label}: no uses from ${days[0]?.date ?? ''} to ${days.at(-1)?.date ?? ''} (UTC days).`
    : `${label}: ${count(total)} uses from ${days[0]?.date ?? ''} to ${days.at(-1)?.date ?? ''} (UTC days; the last one so far), most on ${peak?.date ?? ''} (${count(peak?.uses ?? 0)})`
      + `${withUsers ? `; at most ${count(mostUsers)} active user${mostUsers === 1 ? '' : 's'} a day` : ''}.`;
  const caption = `usage-chart-${useId()}`;
  const width = days.length * 10;
  return (
    <figure class="chart" aria-busy={busy}>
      <figcaption id={caption}>{summary}</figcaption>
      {/* One image named by the caption: a screen reader reads the summary once; the table below holds each day. */}
      <svg viewBox={`0 0 ${width} 62`} preserveAspectRatio="none" role="img" aria-labelledby={caption}>
        {days.map((d, i) => {
          const height = (d.uses / max) * 58;
          return <rect key={d.date} x={i * 10 + 1} y={60 - height} width={8} height={height} fill="currentColor"><title>{`${d.date}: ${count(d.uses)} uses`}</title></rect>;
        })}
        {/* The baseline: a day without uses is a gap on it, and an empty chart is a line, not a blank box. */}
        <line x1={0} y1={61} x2={width} y2={61} stroke="currentColor" stroke-width={2} vector-effect="non-scaling-stroke" />
      </svg>
      <p class="chart-scale muted" aria-hidden="true"><span>{days[0]?.date}</span><span>peak {count(peak?.uses ?? 0)}</span><span>{days.at(-1)?.date}</span></p>
      <details>
        <summary>The numbers, day by day</summary>
        <table>
          <caption class="visually-hidden">{label}, day by day</caption>
          <thead><tr><th scope="col">Day (UTC)</th><th scope="col">Uses</th>{withUsers && <th scope="col">Active users</th>}</tr></thead>
          <tbody>
            {days.map((d) => <tr key={d.date}><th scope="row">{d.date}</th><td>{count(d.uses)}</td>{withUsers && <td>{count(d.activeUsers ?? 0)}</td>}</tr>)}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
