import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deadLetterQueue } from './dead-letter-queue.js';
import { ServiceFunction } from './service-function.js';

export interface SweepProps {
  table: ITable;
  secret: ISecret;
  /** The sweep's queue: the sweep sends each org with due work a round through it, which the worker runs. */
  sweepQueue: IQueue;
  /** How often the sweep runs. */
  interval?: Duration;
  /** Concurrency reserved for the sweep (0: none); default 2, so a late run and the next both fit. */
  reservedConcurrency?: number;
}

/**
 * The scheduled sweep: an EventBridge Scheduler rate schedule invokes the sweep function, retries
 * a failed invocation twice within five minutes (the next run comes anyway), and sends what
 * still fails to a dead-letter queue that the alarms watch.
 */
export class Sweep extends Construct {
  readonly function: ServiceFunction;
  readonly schedule: Schedule;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: SweepProps) {
    super(scope, id);
    this.function = new ServiceFunction(this, 'Function', {
      entry: 'jobs/sweep',
      secret: props.secret,
      timeout: Duration.minutes(2),
      reservedConcurrency: props.reservedConcurrency ?? 2,
    }).bindTable(props.table, 'RO').bindSweepQueue(props.sweepQueue);
    this.deadLetterQueue = deadLetterQueue(this, 'DeadLetters');
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the sweep schedule’s target (EventBridge Scheduler), which cdk-nag cannot see.',
    });
    this.schedule = new Schedule(this, 'Schedule', {
      description: 'OAuth Usage sweep: due scheduled revocations, expiry and policies, lost job work',
      schedule: ScheduleExpression.rate(props.interval ?? Duration.minutes(1)),
      target: new LambdaInvoke(this.function, {
        role: new Role(this, 'SchedulerRole', {
          assumedBy: new ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
        }),
        retryAttempts: 2,
        maxEventAge: Duration.minutes(5),
        deadLetterQueue: this.deadLetterQueue,
      }),
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::<SweepFunctionA7728703.Arn>:*]',
      reason: 'The scheduler’s role may invoke the sweep function and its versions only; the wildcard is the version qualifier CDK adds.',
    });
  }
}
