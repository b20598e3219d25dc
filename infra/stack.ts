import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { UsageTable } from './constructs/table.js';

export interface OAuthUsageStackProps extends StackProps {
  /** Stage name, used in descriptions and tags. */
  stage: string;
}

/**
 * The OAuth Usage service. This slice holds the table; the HTTP API, worker queue, schedules and
 * alarms arrive as constructs of their own (see the issues).
 */
export class OAuthUsageStack extends Stack {
  readonly table: UsageTable;

  constructor(scope: Construct, id: string, props: OAuthUsageStackProps) {
    super(scope, id, { ...props, description: `OAuth Usage service (${props.stage})` });
    this.table = new UsageTable(this, 'Usage');
  }
}
