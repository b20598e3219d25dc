/**
 * CloudWatch metrics as embedded-metric-format log lines: one JSON line on stdout that Lambda's
 * log pipeline turns into a metric, with no client, no extra request and nothing more to load.
 */
export const METRICS_NAMESPACE = 'OAuthUsage';

export function emitMetric(name: string, value: number, unit: 'Count' | 'Seconds'): void {
  process.stdout.write(`${JSON.stringify({
    _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [[]], Metrics: [{ Name: name, Unit: unit }] }] },
    [name]: value,
  })}\n`);
}
