/** One measured line of the performance budget, as written to bench/results/latest.json. */
export interface Metric {
  name: string;
  value: number;
  unit: string;
  /** The budget line: the value must be at most `max` or at least `min`; null: reported only. */
  limit: { max: number } | { min: number } | null;
}

export const round = (n: number, digits = 3): number => Number(n.toFixed(digits));
