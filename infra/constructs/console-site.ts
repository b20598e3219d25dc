import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import {
  AllowedMethods, CachePolicy, Distribution, HeadersFrameOption, HeadersReferrerPolicy, HttpVersion, ResponseHeadersPolicy, ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Construct } from 'constructs';
import { buildConsole, indexHtml } from '../../console/build.js';

export interface ConsoleSiteProps {
  /** The identity provider's issuer and any other origins the sign-in talks to (Cognito: its hosted-UI domain). */
  signInOrigins: string[];
}

/**
 * The OAuth Usage console: a private S3 bucket (all public access blocked, TLS only) read by
 * CloudFront through Origin Access Control, with a strict response-headers policy (CSP, HSTS,
 * nosniff, no framing). `deploy` uploads the build and a `config.json` naming the API and issuer.
 *
 * The API's CORS names this distribution's origin, so the CSP header cannot name the API's
 * generated host without a dependency cycle: the header allows the region's API Gateway hosts,
 * and index.html carries a second policy (a meta element, written at deploy) that allows exactly
 * the API. Browsers enforce both, so the console may call only the API and the issuer.
 */
export class ConsoleSite extends Construct {
  readonly distribution: Distribution;
  readonly origin: string;
  private readonly bucket: Bucket;
  private readonly signInOrigins: string[];

  constructor(scope: Construct, id: string, props: ConsoleSiteProps) {
    super(scope, id);
    this.signInOrigins = props.signInOrigins;
    this.bucket = new Bucket(this, 'Files', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const apiHosts = `https://*.execute-api.${Stack.of(this).region}.amazonaws.com`;
    const headers = new ResponseHeadersPolicy(this, 'Headers', {
      comment: 'OAuth Usage console: strict CSP, HSTS, nosniff, no framing',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          override: true,
          contentSecurityPolicy: [
            `default-src 'self'`, `connect-src 'self' ${apiHosts} ${props.signInOrigins.join(' ')}`, `img-src 'self' data:`, `style-src 'self'`,
            `script-src 'self'`, `frame-ancestors 'none'`, `base-uri 'self'`, `form-action 'self' ${props.signInOrigins.join(' ')}`, `object-src 'none'`,
          ].join('; '),
        },
        strictTransportSecurity: { override: true, accessControlMaxAge: Duration.days(730), includeSubdomains: true, preload: true },
        contentTypeOptions: { override: true },
        frameOptions: { override: true, frameOption: HeadersFrameOption.DENY },
        referrerPolicy: { override: true, referrerPolicy: HeadersReferrerPolicy.NO_REFERRER },
      },
    });
    this.distribution = new Distribution(this, 'Cdn', {
      comment: 'OAuth Usage console',
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
      },
      // Deep links and reloads: a path that names no file gets the single-page app's index.html.
      errorResponses: [403, 404].map((httpStatus) => ({ httpStatus, responseHttpStatus: 200, responsePagePath: '/index.html', ttl: Duration.seconds(0) })),
    });
    this.origin = `https://${this.distribution.distributionDomainName}`;
    const acknowledge = (finding: string, reason: string) => Validations.of(this).acknowledge({ id: `AwsSolutions::AwsSolutions-${finding}`, reason });
    acknowledge('S1', 'The bucket holds only the console\'s public build, written by the deployment; reads go through CloudFront.');
    acknowledge('CFR1', 'The console is for admins wherever they are; the API behind it authenticates every call.');
    acknowledge('CFR2', 'Static files only; the API has its own throttling and authorizer. Attach a WAF web ACL to the distribution if your organisation requires one.');
    acknowledge('CFR3', 'Static, content-hashed files; every call that reads or changes data is logged by the API.');
    acknowledge('CFR4', 'The default *.cloudfront.net certificate fixes the security policy at TLSv1 (browsers negotiate TLS 1.3 anyway). Give the distribution a custom domain and certificate to require TLS 1.2.');
  }

  /** Uploads the console (built now) with `config.json` and the exact-API policy, and invalidates what is not content-hashed. */
  deploy(config: { apiUrl: string; issuer: string; clientId: string }): BucketDeployment {
    // A fresh directory per synth: a concurrent `npm start` or synth rebuilding elsewhere cannot remove files being fingerprinted.
    const outDir = mkdtempSync(join(tmpdir(), 'oauth-usage-console-'));
    const built = buildConsole(outDir);
    const deployment = new BucketDeployment(this, 'Deploy', {
      sources: [
        Source.asset(outDir, { exclude: ['index.html'] }),
        Source.data('index.html', indexHtml(built, ["'self'", config.apiUrl, ...this.signInOrigins].join(' '))),
        Source.jsonData('config.json', config),
      ],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/index.html', '/config.json'],
      memoryLimit: 512,
    });
    // The upload runs in CDK's own BucketDeployment provider (one Lambda function per stack), with the grants CDK gives it.
    const stack = Stack.of(this);
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const reason = 'CDK\'s BucketDeployment provider copies the build from the CDK assets bucket into this bucket: it lists, reads, writes and deletes objects there, and nowhere else.';
    for (const finding of ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*', 'Action::s3:DeleteObject*', 'Action::s3:Abort*',
      `Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-${region}/*`, `Resource::<${stack.getLogicalId(this.bucket.node.defaultChild as CfnBucket)}.Arn>/*`]) {
      Validations.of(stack).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[${finding}]`, reason });
    }
    return deployment;
  }
}
