import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/**
 * The bucket of audit exports (shared/export-files.ts): private, encrypted, TLS only. Files are
 * kept two days (their records one day after they finish, so every link an answer gives works);
 * carry objects and uploads a dead step left behind go with them. Retained on stack deletion as
 * every bucket of the stack is (its lifecycle empties it within two days).
 */
export class AuditExports extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(2), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason: 'Short-lived export files, written by the worker and read through presigned links that the API audits (audit.exported); enable CloudTrail S3 data events to record object access if your organisation requires it.',
    });
  }
}
