import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { functionBundling } from '../bundling.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface ServiceFunctionProps {
  /** Path of the entry point under functions/, without extension (e.g. `http/get-app`). */
  entry: string;
  secret: ISecret;
  memorySize?: number;
  timeout?: Duration;
  environment?: Record<string, string>;
}

/**
 * Every function of the service: Node.js 22 on arm64, ESM bundled by esbuild (minified, source
 * maps, SDK clients bundled rather than taken from the runtime), X-Ray tracing, JSON logs kept a
 * month, and the token-hashing secret readable by ARN. Table access is granted per function.
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
      loggingFormat: LoggingFormat.JSON,
      logGroup: new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH }),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        TOKEN_HASH_SECRET_ARN: props.secret.secretArn,
        ...props.environment,
      },
      bundling: { ...functionBundling, format: OutputFormat.ESM, mainFields: [...functionBundling.mainFields], externalModules: [] },
    };
    super(scope, id, base);
    props.secret.grantRead(this);
  }

  /** Read-only functions get read actions only. */
  bindTable(table: ITable, access: 'RO' | 'RW'): this {
    if (access === 'RO') table.grantReadData(this);
    else table.grantReadWriteData(this);
    return this;
  }
}
