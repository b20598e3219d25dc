import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { projectedAttributes, table } from '../../shared/db/table.js';

/**
 * The service's one table, built from shared/db/table.ts (the same definition the code, the local
 * server and the tests use). Stateful: retained on stack deletion, protected against deletion,
 * point-in-time recovery on, its stream feeding the revocation log. Never change this construct's id or the table's logical id.
 */
export class UsageTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: table.partitionKey, type: AttributeType.STRING },
      sortKey: { name: table.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      encryption: TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: table.ttlAttribute,
      // The revocation log reads it (infra/constructs/revocation-log.ts).
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
    });
    for (const index of Object.values(table.indexes)) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: ProjectionType[index.projection],
        nonKeyAttributes: projectedAttributes(index)?.slice(),
      });
    }
  }
}
