import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
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
  deadLetterQueue: IQueue;
  sweep: IFunction;
  sweepDeadLetterQueue: IQueue;
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
    alarm('SweepErrors', props.sweep.metricErrors({ period: Duration.minutes(15) }), 2, 'The sweep failed three or more times in 15 minutes.');
    alarm('WorkerThrottles', props.worker.metricThrottles({ period: Duration.minutes(5) }), 0, 'The revocation worker was throttled.');
    const serverErrorRate = new MathExpression({
      expression: '100 * errors / IF(requests > 0, requests, 1)',
      usingMetrics: { errors: props.api.metricServerError({ period: Duration.minutes(5) }), requests: props.api.metricCount({ period: Duration.minutes(5) }) },
      period: Duration.minutes(5),
    });
    alarm('Api5xxRate', serverErrorRate, 1, 'More than 1% of API requests failed with 5xx.');
    alarm('TableThrottles', props.table.metric('ThrottledRequests', { period: Duration.minutes(5), statistic: 'Sum' }), 0, 'DynamoDB throttled requests on the service table.');
  }
}
