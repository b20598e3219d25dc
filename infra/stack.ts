import { CfnOutput, Duration, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import type { CfnBucket } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ServiceAlarms } from './constructs/alarms.js';
import { AuditExports } from './constructs/audit-exports.js';
import { ConsoleSite } from './constructs/console-site.js';
import { ServiceApi } from './constructs/http-api.js';
import { RevocationLog } from './constructs/revocation-log.js';
import { UsageTable } from './constructs/table.js';
import { Sweep } from './constructs/sweep.js';
import { RevocationWorker } from './constructs/worker.js';
import type { RequestBudget } from '../shared/registries.js';

export interface OAuthUsageStackProps extends StackProps {
  /** Stage name, used in descriptions and tags. */
  stage: string;
  /** The identity provider whose JWTs the API accepts. */
  jwtIssuer: string;
  jwtAudience: string[];
  alarmEmail?: string;
  throttle?: { rateLimit: number; burstLimit: number };
  /** Each org's default request budgets per second, over the functions' own (500 / 100 / 20). */
  orgRateLimits?: Partial<Record<RequestBudget, number>>;
  /** How often the sweep runs (default 1 minute). */
  sweepInterval?: Duration;
  /** Concurrency reserved for the worker and the sweep (0: none); defaults: the worker's maximum concurrency (10), and 2. */
  reservedConcurrency?: { worker?: number; sweep?: number };
  /** The console's public client at the identity provider, and other origins its sign-in uses (Cognito: the hosted-UI domain). */
  console: { clientId: string; signInOrigins: string[] };
}

/**
 * The OAuth Usage service: table and its revocation log, HTTP API and its functions, revocation queue and worker, the
 * audit exports' bucket, the scheduled sweep, alarms.
 */
export class OAuthUsageStack extends Stack {
  readonly table: UsageTable;
  readonly api: ServiceApi;
  readonly worker: RevocationWorker;
  readonly sweep: Sweep;
  readonly console: ConsoleSite;
  readonly revocationLog: RevocationLog;
  readonly auditExports: AuditExports;

  constructor(scope: Construct, id: string, props: OAuthUsageStackProps) {
    super(scope, id, { ...props, description: `OAuth Usage service (${props.stage})` });
    this.table = new UsageTable(this, 'Usage');
    this.revocationLog = new RevocationLog(this, 'RevocationLog', { table: this.table.table });
    new CfnOutput(this, 'RevocationLogBucket', { value: this.revocationLog.bucket.bucketName, description: 'The revocation log a table restore replays (docs/operations.md)' });
    const secret = new Secret(this, 'TokenHashSecret', {
      description: 'Key material for token lookup keys, token ids and list cursors. Rotate it by adding a key version (docs/operations.md), never by replacing it.',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Automatic rotation would replace the value; the secret is rotated by adding a key version to it (docs/operations.md), which keeps every registered token findable.',
    });
    this.auditExports = new AuditExports(this, 'AuditExports');
    this.worker = new RevocationWorker(this, 'Revocations', {
      table: this.table.table, secret, exportBucket: this.auditExports.bucket, ...(props.reservedConcurrency?.worker === undefined ? {} : { reservedConcurrency: props.reservedConcurrency.worker }),
    });
    this.console = new ConsoleSite(this, 'Console', { signInOrigins: [new URL(props.jwtIssuer).origin, ...props.console.signInOrigins] });
    this.api = new ServiceApi(this, 'Http', {
      table: this.table.table, queue: this.worker.queue, secret, exportBucket: this.auditExports.bucket,
      jwtIssuer: props.jwtIssuer, jwtAudience: props.jwtAudience,
      throttle: props.throttle ?? { rateLimit: 2000, burstLimit: 4000 },
      consoleOrigin: this.console.origin,
      ...(props.orgRateLimits ? { orgRateLimits: props.orgRateLimits } : {}),
    });
    this.console.deploy({ apiUrl: this.api.api.apiEndpoint, issuer: props.jwtIssuer, clientId: props.console.clientId });
    new CfnOutput(this, 'ConsoleUrl', { value: this.console.origin, description: 'The OAuth Usage console' });
    this.sweep = new Sweep(this, 'Sweep', {
      table: this.table.table, secret, sweepQueue: this.worker.sweepQueue,
      ...(props.sweepInterval ? { interval: props.sweepInterval } : {}),
      ...(props.reservedConcurrency?.sweep === undefined ? {} : { reservedConcurrency: props.reservedConcurrency.sweep }),
    });
    this.acknowledgeFindings();
    new ServiceAlarms(this, 'Alarms', {
      api: this.api.api, table: this.table.table, worker: this.worker.function, queue: this.worker.queue, deadLetterQueue: this.worker.deadLetterQueue,
      sweepInterval: props.sweepInterval ?? Duration.minutes(1),
      sweep: this.sweep.function, sweepDeadLetterQueue: this.sweep.deadLetterQueue,
      sweepQueue: this.worker.sweepQueue, roundDeadLetterQueue: this.worker.sweepDeadLetterQueue,
      ...(props.alarmEmail ? { email: props.alarmEmail } : {}),
    });
  }

  /** cdk-nag findings that are deliberate, each with its reason. */
  private acknowledgeFindings(): void {
    const acknowledge = (id: string, reason: string) => Validations.of(this).acknowledge({ id, reason });
    acknowledge('AwsSolutions::AwsSolutions-L1', 'The product owner fixed the Lambda runtime at nodejs22.x; the code is also kept runnable on Node 20.');
    acknowledge('AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'The basic execution role only lets a function write its own CloudWatch logs.');
    acknowledge('AwsSolutions::AwsSolutions-IAM5[Resource::*]', 'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords) has no resource-level permissions.');
    const exportsBucket = this.getLogicalId(this.auditExports.bucket.node.defaultChild as CfnBucket);
    acknowledge(`AwsSolutions::AwsSolutions-IAM5[Resource::<${exportsBucket}.Arn>/audit-exports/*]`,
      'The worker writes, and the route that signs downloads reads, the audit exports\' files: every object under their prefix, named actions only.');
    acknowledge('AwsSolutions::AwsSolutions-IAM5[Resource::<UsageTableADB4B05A.Arn>/index/*]',
      'Functions query the service table’s own indexes; grants stay read-only where the function only reads.');
  }
}
