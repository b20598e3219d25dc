/**
 * Usage over time, drawn: one bar a day (an SVG that screen readers read as one image with its
 * summary), and the same numbers as a table beside it. Loaded after the page's first paint
 * (ui.tsx's `UsageOverTime`), so it costs the first load nothing.
 */
import { count } from './ui.js';

export interface UsageDay { date: string; uses: number; activeUsers?: number }

export function UsageChart({ days, label }: { days: UsageDay[]; label: string }) {
  const peak = days.reduce((best, d) => (d.uses > (best?.uses ?? -1) ? d : best), days[0]);
  const total = days.reduce((sum, d) => sum + d.uses, 0);
  const max = Math.max(1, peak?.uses ?? 0);
  const summary = `${label}: ${count(total)} uses from ${days[0]?.date ?? ''} to ${days.at(-1)?.date ?? ''}${peak && peak.uses > 0 ? `, most on ${peak.date} (${count(peak.uses)})` : ''}.`;
  const withUsers = days.some((d) => d.activeUsers !== undefined);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${days.length * 10} 60`} preserveAspectRatio="none" role="img" aria-label={summary}>
        {days.map((d, i) => {
          const height = (d.uses / max) * 58;
          return <rect key={d.date} x={i * 10 + 1} y={60 - height} width={8} height={height} fill="currentColor"><title>{`${d.date}: ${count(d.uses)} uses`}</title></rect>;
        })}
      </svg>
      <figcaption>{summary}</figcaption>
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
