import { Annotations, Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { workerDelivery } from '../../shared/worker-delivery.js';
import { deadLetterQueue } from './dead-letter-queue.js';
import { ServiceFunction } from './service-function.js';

export interface RevocationWorkerProps {
  table: ITable;
  secret: ISecret;
  /** The audit exports' bucket: the worker writes the files. */
  exportBucket: IBucket;
  /** Concurrent worker invocations on the work queue at most: protects the table's capacity. */
  maxConcurrency?: number;
  /** Concurrent invocations on the sweep queue at most: the rounds get capacity of their own, whatever the work queue holds. */
  roundConcurrency?: number;
  /** Concurrency reserved for the worker (0: none, for accounts whose quota leaves nothing to reserve); default: both maxima. */
  reservedConcurrency?: number;
}

/** A queue the worker reads, with the delivery settings of `workerDelivery`, encrypted, TLS only. */
function workerQueue(scope: Construct, id: string, deadLetters: Queue, retentionPeriod: Duration): Queue {
  return new Queue(scope, id, {
    visibilityTimeout: Duration.seconds(workerDelivery.visibilityTimeoutSeconds),
    retentionPeriod,
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    deadLetterQueue: { queue: deadLetters, maxReceiveCount: workerDelivery.maxReceiveCount },
  });
}

/**
 * The revocation queue, the sweep's queue of org rounds, their dead-letter queues and the
 * worker, which consumes both, with the delivery settings of
 * `workerDelivery` (batches of 10 messages, a visibility timeout six times the worker's timeout,
 * messages moved to the DLQ after 5 failed receives: the sweep resumes their jobs); partial batch
 * failures reported per message.
 */
export class RevocationWorker extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  /** The sweep's rounds, one per org with due work: apart from the work queue, so no backlog of work delays them. */
  readonly sweepQueue: Queue;
  readonly sweepDeadLetterQueue: Queue;
  readonly function: ServiceFunction;

  constructor(scope: Construct, id: string, props: RevocationWorkerProps) {
    super(scope, id);
    this.deadLetterQueue = deadLetterQueue(this, 'DeadLetters');
    this.queue = workerQueue(this, 'Queue', this.deadLetterQueue, Duration.days(4));
    const work = props.maxConcurrency ?? 10;
    const rounds = props.roundConcurrency ?? 10;
    if (props.reservedConcurrency !== undefined && props.reservedConcurrency > 0 && props.reservedConcurrency < work + rounds) {
      Annotations.of(this).addWarningV2('oauth-usage:worker-reserved-concurrency',
        `The worker's reserved concurrency (${props.reservedConcurrency}) is below its two queues' maxima (${work} + ${rounds}): a backlog of work can then hold back the sweep's rounds`);
    }
    this.sweepDeadLetterQueue = deadLetterQueue(this, 'RoundDeadLetters');
    this.sweepQueue = workerQueue(this, 'SweepQueue', this.sweepDeadLetterQueue, Duration.days(1));
    this.function = new ServiceFunction(this, 'Function', {
      entry: 'worker/queue-worker',
      secret: props.secret,
      memorySize: 1024,
      timeout: Duration.seconds(workerDelivery.timeoutSeconds),
      reservedConcurrency: props.reservedConcurrency ?? work + rounds,
    }).bindTable(props.table, 'RW')
      .bindQueue(this.queue) // the planner enqueues cleanup batches on the same queue
      .bindSweepQueue(this.sweepQueue) // a round that leaves work due sends the next one
      .bindExportFiles(props.exportBucket, 'write');
    // Each queue has its own share of the reserved concurrency, so a backlog of work never holds back a round.
    for (const [queue, maxConcurrency] of [[this.queue, work], [this.sweepQueue, rounds]] as const) {
      this.function.addEventSource(new SqsEventSource(queue, {
        batchSize: workerDelivery.batchSize,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
        maxConcurrency,
      }));
    }
  }
}
