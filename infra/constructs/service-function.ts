import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { bundleAliasArgs, functionBundling, projectRoot } from '../bundling.js';
import type { TableAccess } from '../../shared/routes.js';
import { rateWindowPartitions } from '../../shared/db/table.js';
import { EXPORT_FILES_PREFIX } from '../../shared/export-bucket.js';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';

export interface ServiceFunctionProps {
  /** Path of the entry point under functions/, without extension (e.g. `http/get-app`). */
  entry: string;
  /** The service secret, for functions that hash tokens or seal cursors (granted read). */
  secret?: ISecret;
  memorySize?: number;
  timeout?: Duration;
  environment?: Record<string, string>;
  /** Concurrency kept for this function alone, so that a burst of other functions cannot starve it (undefined: none). */
  reservedConcurrency?: number;
}

/**
 * Every function of the service: Node.js 22 on arm64, ESM bundled by esbuild (minified, source
 * maps, SDK clients bundled rather than taken from the runtime), X-Ray tracing, JSON logs kept a
 * month. The token-hashing secret (readable by ARN) and table access are granted per function.
 */
export class ServiceFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    const base: NodejsFunctionProps = {
      entry: `${projectRoot}functions/${props.entry}.ts`,
      projectRoot,
      depsLockFilePath: `${projectRoot}package-lock.json`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: Tracing.ACTIVE,
      ...(props.reservedConcurrency ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
      loggingFormat: LoggingFormat.JSON,
      logGroup: new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH }),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...(props.secret ? { TOKEN_HASH_SECRET_ARN: props.secret.secretArn } : {}),
        ...props.environment,
      },
      bundling: { ...functionBundling, format: OutputFormat.ESM, mainFields: [...functionBundling.mainFields], externalModules: [...functionBundling.externalModules], esbuildArgs: bundleAliasArgs },
    };
    super(scope, id, base);
    props.secret?.grantRead(this);
  }

  /**
   * Binds the service table: its name in TABLE_NAME, and least privilege on it: read actions, plus
   * UpdateItem alone where a function only records uses, or read and write.
   */
  bindTable(table: ITable, access: Exclude<TableAccess, 'none'>): this {
    this.addEnvironment('TABLE_NAME', table.tableName);
    if (access === 'RW') {
      table.grantReadWriteData(this);
    } else {
      table.grantReadData(this);
      if (access === 'RO+UpdateItem') table.grant(this, 'dynamodb:UpdateItem');
    }
    return this;
  }

  /**
   * Lets a function that only reads report to the per-org request windows (shared/db/rate-window.ts):
   * UpdateItem on the items of the orgs' `#RATE` partitions alone.
   */
  bindRateWindows(table: ITable): this {
    this.addToRolePolicy(new PolicyStatement({
      actions: ['dynamodb:UpdateItem'],
      resources: [table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [rateWindowPartitions] } },
    }));
    return this;
  }

  /** Binds the queue the function sends work to: its URL in QUEUE_URL, and the right to send. */
  bindQueue(queue: IQueue): this {
    this.addEnvironment('QUEUE_URL', queue.queueUrl);
    queue.grantSendMessages(this);
    return this;
  }

  /** Binds the audit exports' bucket: its name in EXPORT_BUCKET, and reading (to sign downloads) or reading and writing its files. */
  bindExportFiles(bucket: IBucket, access: 'read' | 'write'): this {
    this.addEnvironment('EXPORT_BUCKET', bucket.bucketName);
    // Named actions on the exports' objects alone (CDK's grantRead/grantReadWrite add wildcard ones). PutObject covers a multipart upload's calls.
    const actions = access === 'write' ? ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] : ['s3:GetObject'];
    this.addToRolePolicy(new PolicyStatement({ actions, resources: [bucket.arnForObjects(`${EXPORT_FILES_PREFIX}*`)] }));
    return this;
  }

  /** Binds the sweep's queue of org rounds: its URL in SWEEP_QUEUE_URL, and the right to send. */
  bindSweepQueue(queue: IQueue): this {
    this.addEnvironment('SWEEP_QUEUE_URL', queue.queueUrl);
    queue.grantSendMessages(this);
    return this;
  }
}
