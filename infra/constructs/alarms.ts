import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, Metric, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_NAMESPACE } from '../../shared/metrics.js';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface ServiceAlarmsProps {
  api: HttpApi;
  table: Table;
  worker: IFunction;
  queue: IQueue;
  deadLetterQueue: IQueue;
  /** How often the sweep runs: it is behind when due work waits several intervals. */
  sweepInterval: Duration;
  sweep: IFunction;
  sweepDeadLetterQueue: IQueue;
  /** The sweep's rounds (one per org with due work) and their dead-letter queue. */
  sweepQueue: IQueue;
  roundDeadLetterQueue: IQueue;
  /** Who hears about it; optional (subscribe later to the topic). */
  email?: string;
}

/** What needs a human: messages in a DLQ, worker or sweep errors, API 5xx rate, throttling. Sent to one SNS topic. */
export class ServiceAlarms extends Construct {
  readonly topic: Topic;

  constructor(scope: Construct, id: string, props: ServiceAlarmsProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', { displayName: 'OAuth Usage alarms', enforceSSL: true });
    if (props.email) this.topic.addSubscription(new EmailSubscription(props.email));
    const alarm = (name: string, metric: IMetric, threshold: number, description: string) =>
      new Alarm(this, name, {
        metric, threshold, evaluationPeriods: 1, alarmDescription: description,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }).addAlarmAction(new SnsAction(this.topic));

    alarm('DeadLetters', props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }), 0,
      'Revocation messages reached the dead-letter queue: their jobs wait for the sweep to resume them.');
    alarm('WorkerErrors', props.worker.metricErrors({ period: Duration.minutes(5) }), 0, 'The revocation worker failed invocations.');
    alarm('SweepDeadLetters', props.sweepDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }), 0,
      'Sweep invocations failed after their retries: due work waits for the next successful sweep.');
    alarm('RoundDeadLetters', props.roundDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }), 0,
      'An org\'s sweep round failed five times: its due work waits for the next sweep, which sends it another.');
    alarm('RoundsBehind', props.sweepQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' }), props.sweepInterval.toSeconds(),
      'An org\'s sweep round has waited longer than a sweep interval: the worker is not keeping up with the orgs that have due work.');
    alarm('SweepErrors', props.sweep.metricErrors({ period: Duration.minutes(15) }), 2, 'The sweep failed three or more times in 15 minutes.');
    alarm('WorkerThrottles', props.worker.metricThrottles({ period: Duration.minutes(5) }), 0, 'The revocation worker was throttled.');
    const serverErrorRate = new MathExpression({
      expression: '100 * errors / IF(requests > 0, requests, 1)',
      usingMetrics: { errors: props.api.metricServerError({ period: Duration.minutes(5) }), requests: props.api.metricCount({ period: Duration.minutes(5) }) },
      period: Duration.minutes(5),
    });
    alarm('Api5xxRate', serverErrorRate, 1, 'More than 1% of API requests failed with 5xx.');
    alarm('QueueAge', props.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' }), 600,
      'A revocation message has waited over 10 minutes: the worker is not keeping up (or is failing).');
    const custom = (name: string, statistic: string) => new Metric({ namespace: METRICS_NAMESPACE, metricName: name, statistic, period: Duration.minutes(5) });
    alarm('JobsFailed', custom('RevocationJobsFailed', 'Sum'), 0, 'A revocation job was marked failed after five passes: its tokens stay revoked, but items and counts may be left behind.');
    alarm('SweepBehind', custom('SweepLagSeconds', 'Maximum'), props.sweepInterval.toSeconds() * 10,
      'The oldest due work has waited more than ten sweep intervals: the sweep is falling behind (or not running).');
    alarm('OrgRateLimited', custom('RateLimitedRequests', 'Sum'), 0,
      'An org went over one of its request budgets (its calls answered 429): the functions\' logs name it (`Rate limited`, with orgId and budget).');
    alarm('TableThrottles', props.table.metric('ThrottledRequests', { period: Duration.minutes(5), statistic: 'Sum' }), 0, 'DynamoDB throttled requests on the service table.');
  }
}
