import { Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AppendDelimiterToRecordProcessor, Compression, DeliveryStream, S3Bucket, StreamEncryption } from 'aws-cdk-lib/aws-kinesisfirehose';
import { CfnPipe } from 'aws-cdk-lib/aws-pipes';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { revocationLogFilters } from '../../shared/db/table.js';

/** Point-in-time recovery goes back at most 35 days; the log covers that and a margin. */
const KEPT_FOR = Duration.days(40);

/**
 * The revocation log (shared/db/revocation-log.ts): the table's stream, filtered by an EventBridge
 * Pipe to the changes a point-in-time restore would undo, delivered by Firehose to a versioned S3
 * bucket, one JSON stream record a line, gzipped, within a minute. Outside the table, so a restore
 * cannot take it back; `npm run restore` re-applies it (docs/operations.md).
 * Stateful: retained on stack deletion.
 */
export class RevocationLog extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: { table: ITable }) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      lifecycleRules: [{ expiration: KEPT_FOR, noncurrentVersionExpiration: Duration.days(7) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const delivery = new DeliveryStream(this, 'Delivery', {
      encryption: StreamEncryption.awsOwnedKey(),
      destination: new S3Bucket(this.bucket, {
        processors: [new AppendDelimiterToRecordProcessor()],
        compression: Compression.GZIP,
        bufferingInterval: Duration.seconds(60),
        bufferingSize: Size.mebibytes(5),
        dataOutputPrefix: 'log/',
        errorOutputPrefix: 'errors/',
      }),
    });
    const role = new Role(this, 'PipeRole', { assumedBy: new ServicePrincipal('pipes.amazonaws.com') });
    props.table.grantStreamRead(role);
    delivery.grantPutRecords(role);
    const pipe = new CfnPipe(this, 'Pipe', {
      roleArn: role.roleArn,
      source: props.table.tableStreamArn as string,
      // A record the Pipe cannot deliver is retried until the stream drops it (24 hours): Firehose being down delays the log, never loses it before then.
      sourceParameters: {
        dynamoDbStreamParameters: { startingPosition: 'TRIM_HORIZON', batchSize: 100, maximumBatchingWindowInSeconds: 5 },
        filterCriteria: { filters: revocationLogFilters.map((pattern) => ({ pattern: JSON.stringify(pattern) })) },
      },
      target: delivery.deliveryStreamArn,
    });
    pipe.node.addDependency(role);
    Validations.of(delivery).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnBucket)}.Arn>/*]`,
      reason: 'Firehose writes objects of its own naming into the log bucket, and nowhere else (CDK\'s grant for an S3 destination).',
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason: 'Only Firehose writes the log and only an operator restoring the table reads it; enable CloudTrail S3 data events to record object access if your organisation requires it.',
    });
  }
}
