import { behindJwtAuthorizer, budgetsOf } from '../../shared/api/define.js';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { OAuthUsageStack } from '../../infra/stack.js';
import { projectedAttributes, revocationLogFilters, table } from '../../shared/db/table.js';
import { routeKey, routes, type Route } from '../../shared/routes.js';

// Bundling is skipped in template tests (`cdk synth` bundles for real).
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new OAuthUsageStack(app, 'Test', {
  stage: 'test', jwtIssuer: 'https://idp.example.com/', jwtAudience: ['oauth-usage'], env: { region: 'eu-west-1' },
  console: { clientId: 'console-client', signInOrigins: ['https://auth.example.com'] },
});
const template = Template.fromStack(stack);
const resources = (type: string) => Object.entries(template.findResources(type)) as [string, { Properties: Record<string, unknown> }][];
const allRoutes = Object.values(routes as Record<string, Route>);

describe('the table', () => {
  it('is built from the shared table definition, with every index the code uses', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: table.partitionKey, KeyType: 'HASH' }, { AttributeName: table.sortKey, KeyType: 'RANGE' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: table.ttlAttribute, Enabled: true },
      GlobalSecondaryIndexes: Object.values(table.indexes).map((i) =>
        Match.objectLike({
          IndexName: i.name,
          KeySchema: [{ AttributeName: i.partitionKey, KeyType: 'HASH' }, { AttributeName: i.sortKey, KeyType: 'RANGE' }],
          Projection: projectedAttributes(i) ? { ProjectionType: i.projection, NonKeyAttributes: projectedAttributes(i) } : { ProjectionType: i.projection },
        }),
      ),
    });
  });

  it('keeps its data: point-in-time recovery, deletion protection, retained on stack deletion', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtectionEnabled: true, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
    });
    expect(resources('AWS::DynamoDB::Table')).toHaveLength(1);
  });
});

describe('the revocation log', () => {
  const [[tableId]] = resources('AWS::DynamoDB::Table') as [[string, unknown]];
  const [[bucketId]] = resources('AWS::S3::Bucket').filter(([id]) => id.startsWith('RevocationLog')) as [[string, unknown]];

  it('pipes the table\'s stream, filtered by the shared patterns, through Firehose into S3, one gzipped JSON record a line', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' } });
    const [[deliveryId]] = resources('AWS::KinesisFirehose::DeliveryStream') as [[string, unknown]];
    template.hasResourceProperties('AWS::Pipes::Pipe', {
      Source: { 'Fn::GetAtt': [tableId, 'StreamArn'] },
      Target: { 'Fn::GetAtt': [deliveryId, 'Arn'] },
      SourceParameters: {
        DynamoDBStreamParameters: Match.objectLike({ StartingPosition: 'TRIM_HORIZON' }),
        FilterCriteria: { Filters: revocationLogFilters.map((pattern) => ({ Pattern: JSON.stringify(pattern) })) },
      },
    });
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
      ExtendedS3DestinationConfiguration: Match.objectLike({
        BucketARN: { 'Fn::GetAtt': [bucketId, 'Arn'] },
        CompressionFormat: 'GZIP',
        ProcessingConfiguration: { Enabled: true, Processors: [Match.objectLike({ Type: 'AppendDelimiterToRecord' })] },
      }),
    });
  });

  it('lives outside the table a restore replaces: a private, versioned, TLS-only bucket kept 40 days (PITR reaches back 35) and retained', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 40, Status: 'Enabled' })] },
      }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('lets the Pipe read only the stream and put only into its delivery stream', () => {
    const [, pipeRole] = only('AWS::IAM::Policy', 'RevocationLogPipeRole');
    const statements = (pipeRole.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement;
    expect(statements.flatMap((s) => [s.Action].flat()).sort()).toEqual(['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams', 'firehose:PutRecord', 'firehose:PutRecordBatch']);
  });
});

describe('the HTTP API', () => {
  it('has exactly the route table’s routes plus $default and the preflights\' OPTIONS /{proxy+}, with the JWT authorizer on every scoped route', () => {
    const authorizers = resources('AWS::ApiGatewayV2::Authorizer');
    expect(authorizers).toHaveLength(1);
    expect(authorizers[0]?.[1].Properties).toMatchObject({ AuthorizerType: 'JWT', JwtConfiguration: { Issuer: 'https://idp.example.com/', Audience: ['oauth-usage'] } });
    const deployed = resources('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    expect(deployed.map((r) => r.RouteKey).sort()).toEqual([...allRoutes.map(routeKey), '$default', 'OPTIONS /{proxy+}'].sort());
    for (const route of allRoutes) {
      const props = deployed.find((r) => r.RouteKey === routeKey(route));
      expect(props?.AuthorizationType, routeKey(route)).toBe(behindJwtAuthorizer(route) ? 'JWT' : 'NONE');
    }
    // Unknown paths too: an unauthenticated caller gets API Gateway's 401 and invokes no function.
    expect(deployed.find((r) => r.RouteKey === '$default')?.AuthorizationType).toBe('JWT');
    // A browser's preflight carries no token: AWS documents that with an authorizer on $default it
    // needs an OPTIONS /{proxy+} route without authorization, and with an integration.
    const preflight = deployed.find((r) => r.RouteKey === 'OPTIONS /{proxy+}');
    expect(preflight?.AuthorizationType).toBe('NONE');
    expect(JSON.stringify(preflight?.Target)).toContain('CorsPreflightIntegration');
  });

  it('throttles the stage and writes access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      AutoDeploy: true,
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 2000, ThrottlingBurstLimit: 4000 }),
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });
});

describe('functions', () => {
  // The service's functions (not CDK's own BucketDeployment provider, which uploads the console).
  const functions = resources('AWS::Lambda::Function').filter(([id, f]) => f.Properties.Runtime !== undefined && String(f.Properties.Handler).startsWith('index') && !id.startsWith('CustomCDKBucketDeployment'));

  it('run nodejs22.x on arm64 with tracing, and never carry the secret itself; only functions that use it know where it is', () => {
    expect(functions.length).toBe(allRoutes.length + 4); // the routes, $default, the preflights, the worker, the sweep
    for (const [id, { Properties: p }] of functions) {
      expect(p).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } });
      const env = (p.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env).not.toHaveProperty('TOKEN_HASH_SECRET');
      expect(Object.keys(env).includes('TOKEN_HASH_SECRET_ARN'), id).toBe(!/^Http(Health|Openapi|NotFound|CorsPreflight)[0-9A-F]{8}$/.test(id));
    }
  });

  it('get least privilege: read-only routes cannot write, only enqueuing routes can send, no wildcard actions', () => {
    const policies = resources('AWS::IAM::Policy').map(([, p]) => p.Properties);
    const statementsOf = (handler: string) => policies
      .filter((p) => new RegExp(`"Http${handler}ServiceRole[0-9A-F]{8}"`).test(JSON.stringify(p.Roles)))
      .flatMap((p) => (p.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement)
      .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    const pascal = (name: string) => name.replace(/(^|-)(\w)/g, (_, _s: string, c: string) => c.toUpperCase());
    for (const route of allRoutes) {
      const actions = statementsOf(pascal(route.handler));
      expect(actions.some((a) => a.startsWith('dynamodb:')), `${route.handler} reads the table`).toBe(route.table !== 'none');
      expect(actions.some((a) => a.endsWith('*') && !a.startsWith('xray:')), route.handler).toBe(false);
      const writes = actions.filter((a) => /dynamodb:(Put|Update|Delete|BatchWrite)/.test(a));
      // A read-only function that spends an org's request budget may also UpdateItem its org's window (below).
      const reports = budgetsOf(route).length > 0 && route.table !== 'RW' ? ['dynamodb:UpdateItem'] : [];
      expect(writes, `${route.handler} writes`).toEqual(route.table === 'RW' ? expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'])
        : route.table === 'RO+UpdateItem' ? ['dynamodb:UpdateItem', ...reports] : reports);
      expect(actions.includes('sqs:SendMessage'), `${route.handler} sends`).toBe(route.enqueues === true);
      expect(actions.includes('secretsmanager:GetSecretValue'), `${route.handler} reads the secret`).toBe(route.table !== 'none');
    }
    // Each function is told the table's name and the queue's URL exactly where it is granted them.
    const environmentOf = (handler: string) => (functions.find(([id]) => new RegExp(`^Http${handler}[0-9A-F]{8}$`).test(id))?.[1].Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    for (const route of allRoutes) {
      const env = environmentOf(pascal(route.handler));
      expect(Object.keys(env).includes('TABLE_NAME'), `${route.handler} knows the table`).toBe(route.table !== 'none');
      expect(Object.keys(env).includes('QUEUE_URL'), `${route.handler} knows the queue`).toBe(route.enqueues === true);
    }
    // The functions that touch no data may not read the secret either.
    for (const handler of ['Health', 'Openapi', 'NotFound']) expect(statementsOf(handler).filter((a) => !a.startsWith('xray:') && !a.startsWith('logs:'))).toEqual([]);
    // That UpdateItem reaches the orgs' request windows alone.
    const windowStatements = policies.flatMap((p) => (p.PolicyDocument as { Statement: { Action: unknown; Condition?: unknown }[] }).Statement)
      .filter((st) => st.Action === 'dynamodb:UpdateItem' && st.Condition !== undefined);
    expect(windowStatements.length).toBeGreaterThan(0);
    for (const st of windowStatements) expect(st.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ORG#*#RATE'] } });
    // Introspection records uses, and revokes a grant when the AS presents a rotated-out refresh
    // token (a transaction that puts a tombstone and an audit event, and may unlist the user).
    expect(statementsOf('Introspect')).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']));
  });
});

describe('the per-org request budgets', () => {
  it('keep the functions\' own defaults unless the stack is given others, which go to the functions that spend that budget', () => {
    const variables = ['ORG_INTROSPECT_RATE_LIMIT_RPS', 'ORG_REGISTER_RATE_LIMIT_RPS', 'ORG_ADMIN_RATE_LIMIT_RPS'];
    const envOf = (t: Template) => Object.entries(t.findResources('AWS::Lambda::Function')).map(([id, f]) => [id, (f as { Properties: { Environment?: { Variables?: Record<string, string> } } }).Properties.Environment?.Variables ?? {}] as const);
    for (const [id, env] of envOf(template)) expect(Object.keys(env).filter((k) => variables.includes(k)), id).toEqual([]);
    const given = new OAuthUsageStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Budgets', {
      stage: 'test', jwtIssuer: 'https://idp.example.com/', jwtAudience: ['oauth-usage'], env: { region: 'eu-west-1' },
      console: { clientId: 'console-client', signInOrigins: [] }, orgRateLimits: { introspect: 2000, register: 300 },
    });
    const withVariable = (name: string) => envOf(Template.fromStack(given)).filter(([, env]) => name in env).map(([id, env]) => [id.replace(/[0-9A-F]{8}$/, ''), env[name]]);
    expect(withVariable('ORG_INTROSPECT_RATE_LIMIT_RPS')).toEqual([['HttpIntrospect', '2000']]);
    // The authorization server's calls spend the registration budget, its introspections and policy reads included.
    expect(withVariable('ORG_REGISTER_RATE_LIMIT_RPS').sort()).toEqual([['HttpDeclareClient', '300'], ['HttpGetPolicies', '300'], ['HttpIntrospect', '300'], ['HttpRegisterToken', '300']]);
  });
});

describe('the revocation worker', () => {
  it('reads its queue in batches with partial batch responses, capped concurrency, and a DLQ after 5 receives', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
    const queues = resources('AWS::SQS::Queue').filter(([, q]) => q.Properties.RedrivePolicy);
    const worker = resources('AWS::Lambda::Function').find(([id]) => id.startsWith('RevocationsFunction'));
    expect(queues.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['RevocationsQueue', 'RevocationsSweepQueue']);
    for (const [, queue] of queues) {
      expect(queue.Properties.RedrivePolicy).toMatchObject({ maxReceiveCount: 5 });
      expect(Number(queue.Properties.VisibilityTimeout)).toBeGreaterThanOrEqual(6 * Number(worker?.[1].Properties.Timeout));
    }
  });

  it('also runs the sweep\'s rounds, from a queue of their own, and may send to both queues', () => {
    const [workerId] = resources('AWS::Lambda::Function').find(([id]) => id.startsWith('RevocationsFunction')) ?? [];
    const sources = resources('AWS::Lambda::EventSourceMapping').filter(([, m]) => JSON.stringify(m.Properties.FunctionName).includes(String(workerId)));
    const queuesRead = sources.map(([, m]) => (m.Properties.EventSourceArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0].replace(/[0-9A-F]{8}$/, '')).sort();
    expect(queuesRead).toEqual(['RevocationsQueue', 'RevocationsSweepQueue']);
    // Capacity of their own for the rounds: the maxima add up to the reserved concurrency.
    const maxima = sources.map(([, m]) => (m.Properties.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency);
    const [, worker] = resources('AWS::Lambda::Function').find(([id]) => id.startsWith('RevocationsFunction')) ?? [];
    expect(maxima.reduce((a, b) => a + b, 0)).toBe(worker?.Properties.ReservedConcurrentExecutions);
    expect(Object.keys((worker?.Properties.Environment as { Variables: Record<string, unknown> }).Variables)).toEqual(expect.arrayContaining(['QUEUE_URL', 'SWEEP_QUEUE_URL']));
  });
});

describe('the audit exports', () => {
  const bucketIdOf = () => resources('AWS::S3::Bucket').find(([id]) => id.startsWith('AuditExportsBucket'))?.[0] as string;
  const actionsOf = (rolePrefix: string) => resources('AWS::IAM::Policy')
    .filter(([, p]) => new RegExp(`"${rolePrefix}[0-9A-F]{8}"`).test(JSON.stringify(p.Properties.Roles)))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement)
    .filter((st) => JSON.stringify(st.Resource).includes(bucketIdOf()));

  it('live in a private, TLS-only bucket that keeps files two days and aborts uploads left behind after one', () => {
    const [, bucket] = only('AWS::S3::Bucket', 'AuditExportsBucket');
    expect(bucket.Properties).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: 2, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' })] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketIdOf() },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('are written by the worker and only read (to sign downloads) by the route that shows an export, on the exports\' keys alone', () => {
    const worker = actionsOf('RevocationsFunctionServiceRole');
    expect(worker.flatMap((st) => [st.Action].flat()).sort()).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:PutObject']);
    expect(actionsOf('HttpGetAuditExportServiceRole').flatMap((st) => [st.Action].flat())).toEqual(['s3:GetObject']);
    for (const st of [...worker, ...actionsOf('HttpGetAuditExportServiceRole')]) expect(JSON.stringify(st.Resource)).toContain('/audit-exports/*');
    const others = resources('AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties).includes(bucketIdOf()))
      .map(([, p]) => JSON.stringify(p.Properties.Roles).match(/"(\w+?)ServiceRole[0-9A-F]{8}"/)?.[1]).sort();
    expect(others).toEqual(['HttpGetAuditExport', 'RevocationsFunction']);
  });
});

describe('the sweep', () => {
  const [sweepId, sweep] = resources('AWS::Lambda::Function').find(([id]) => id.startsWith('SweepFunction')) ?? [];

  it('runs on an EventBridge Scheduler rate schedule that targets the sweep function, with retries and a DLQ', () => {
    const schedules = resources('AWS::Scheduler::Schedule').map(([, s]) => s.Properties);
    expect(schedules).toHaveLength(1);
    const [schedule] = schedules as [{ ScheduleExpression: string; State: string; Target: Record<string, unknown> }];
    expect(schedule.ScheduleExpression).toBe('rate(1 minute)');
    expect(schedule.State).toBe('ENABLED');
    expect(schedule.Target.Arn).toEqual({ 'Fn::GetAtt': [sweepId, 'Arn'] });
    expect(schedule.Target.RetryPolicy).toEqual({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 });
    const dlq = (schedule.Target.DeadLetterConfig as { Arn: { 'Fn::GetAtt': [string, string] } }).Arn['Fn::GetAtt'][0];
    expect(dlq).toMatch(/^SweepDeadLetters/);
  });

  it('only reads the table (its due markers), sends each org a round on the sweep queue, and runs the sweep entry point', () => {
    expect(sweep?.Properties).toMatchObject({ Runtime: 'nodejs22.x', Timeout: 120 });
    const policy = resources('AWS::IAM::Policy').find(([id]) => id.startsWith('SweepFunctionServiceRoleDefaultPolicy'));
    const actions = JSON.stringify(policy?.[1].Properties.PolicyDocument);
    expect(actions).toContain('dynamodb:Query');
    expect(actions).not.toContain('dynamodb:UpdateItem');
    expect(actions).toContain('sqs:SendMessage');
    expect(actions).not.toMatch(/"Action":"\*"|dynamodb:\*|sqs:\*/);
    const env = (sweep?.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(env)).toContain('SWEEP_QUEUE_URL');
    expect(Object.keys(env)).not.toContain('QUEUE_URL');
  });
});

describe('alarms', () => {
  it('watch both DLQs, worker and sweep errors, throttles, the API 5xx rate and table throttling, all to one topic', () => {
    const alarms = resources('AWS::CloudWatch::Alarm');
    expect(alarms.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([
      'AlarmsApi5xxRate', 'AlarmsDeadLetters', 'AlarmsJobsFailed', 'AlarmsOrgRateLimited', 'AlarmsQueueAge', 'AlarmsRoundDeadLetters', 'AlarmsRoundsBehind',
      'AlarmsSweepBehind', 'AlarmsSweepDeadLetters', 'AlarmsSweepErrors', 'AlarmsTableThrottles', 'AlarmsWorkerErrors', 'AlarmsWorkerThrottles',
    ]);
    expect(resources('AWS::SNS::Topic')).toHaveLength(1);
    for (const [, alarm] of alarms) expect(alarm.Properties.AlarmActions).toHaveLength(1);
  });

  it('see trouble early: the queue\'s oldest message, failed jobs and the sweep falling behind (metrics the code emits as EMF lines)', () => {
    const byId = (prefix: string) => resources('AWS::CloudWatch::Alarm').find(([id]) => id.startsWith(prefix))?.[1].Properties;
    expect(byId('AlarmsQueueAge')).toMatchObject({ MetricName: 'ApproximateAgeOfOldestMessage', Namespace: 'AWS/SQS', Threshold: 600 });
    expect(byId('AlarmsJobsFailed')).toMatchObject({ MetricName: 'RevocationJobsFailed', Namespace: 'OAuthUsage', Statistic: 'Sum', Threshold: 0 });
    expect(byId('AlarmsOrgRateLimited')).toMatchObject({ MetricName: 'RateLimitedRequests', Namespace: 'OAuthUsage', Statistic: 'Sum', Threshold: 0 });
    expect(byId('AlarmsSweepBehind')).toMatchObject({ MetricName: 'SweepLagSeconds', Namespace: 'OAuthUsage', Statistic: 'Maximum', Threshold: 600 });
    expect(byId('AlarmsRoundsBehind')).toMatchObject({ MetricName: 'ApproximateAgeOfOldestMessage', Namespace: 'AWS/SQS', Threshold: 60 });
  });
});

describe('reserved concurrency', () => {
  it('keeps the worker\'s maximum concurrency on both its queues and two sweeps for them, so an API burst cannot starve them', () => {
    const reserved = resources('AWS::Lambda::Function').filter(([, f]) => f.Properties.ReservedConcurrentExecutions !== undefined)
      .map(([id, f]) => [id.replace(/Function[0-9A-F]{8}$/, ''), f.Properties.ReservedConcurrentExecutions]);
    expect(reserved.sort()).toEqual([['Revocations', 20], ['Sweep', 2]]); // the worker: 10 on the work queue and 10 on the rounds'
  });

  it('warns at synth when the worker is given less than its two queues\' maxima', () => {
    const short = new OAuthUsageStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Short', {
      stage: 'test', jwtIssuer: 'https://idp.example.com/', jwtAudience: ['oauth-usage'], env: { region: 'eu-west-1' },
      console: { clientId: 'console-client', signInOrigins: [] }, reservedConcurrency: { worker: 10 },
    });
    const warning = Match.stringLikeRegexp('reserved concurrency \\(10\\) is below its two queues');
    Annotations.fromStack(short).hasWarning('*', warning);
    Annotations.fromStack(stack).hasNoWarning('*', warning);
  });
});

/** The one resource of a type (of a construct, by its logical id's start): its logical id and definition. */
function only(type: string, idPrefix = ''): [string, { Properties: Record<string, unknown> }] {
  const found = resources(type).filter(([id]) => id.startsWith(idPrefix));
  expect(found).toHaveLength(1);
  return found[0] as [string, { Properties: Record<string, unknown> }];
}

describe('the console', () => {
  const [bucketId, bucket] = only('AWS::S3::Bucket', 'Console');
  const [distributionId, distribution] = only('AWS::CloudFront::Distribution');

  it('is a private, TLS-only bucket read by CloudFront through Origin Access Control', () => {
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    const [, policy] = only('AWS::S3::BucketPolicy', 'Console');
    const statements = (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Allow', Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' }));
    expect(JSON.stringify(statements)).not.toContain('"Principal":"*","Effect":"Allow"');
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', { OriginAccessControlConfig: Match.objectLike({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always' }) });
    const config = distribution.Properties.DistributionConfig as Record<string, unknown>;
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.DefaultCacheBehavior).toMatchObject({ ViewerProtocolPolicy: 'redirect-to-https' });
    expect(JSON.stringify(config.Origins)).toContain(bucketId);
    // Deep links and reloads get the single-page app.
    expect(config.CustomErrorResponses).toEqual([403, 404].map((ErrorCode) => ({ ErrorCode, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 0 })));
  });

  it('answers with a strict Content Security Policy, HSTS, nosniff and no framing', () => {
    const [, policy] = only('AWS::CloudFront::ResponseHeadersPolicy');
    const headers = (policy.Properties.ResponseHeadersPolicyConfig as { SecurityHeadersConfig: Record<string, Record<string, unknown>> }).SecurityHeadersConfig;
    const csp = String(headers.ContentSecurityPolicy?.ContentSecurityPolicy);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toMatch(/connect-src 'self' https:\/\/\*\.execute-api\.eu-west-1\.amazonaws\.com https:\/\/idp\.example\.com https:\/\/auth\.example\.com;/);
    expect(headers.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: 63_072_000, IncludeSubdomains: true, Override: true });
    expect(headers.ContentTypeOptions).toEqual({ Override: true });
    expect(headers.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    const [, dist] = only('AWS::CloudFront::Distribution');
    expect(JSON.stringify(dist.Properties)).toContain('ResponseHeadersPolicyId');
  });

  it('deploys the build with a config.json naming the API, the issuer and the client, and a policy naming exactly the API', () => {
    const [, deployment] = only('Custom::CDKBucketDeployment');
    const markers = JSON.stringify(deployment.Properties.SourceMarkers);
    expect(markers).toContain('ApiEndpoint'); // config.json's apiUrl and the page's connect-src, filled in at deploy
    expect(deployment.Properties.DistributionPaths).toEqual(['/index.html', '/config.json']);
    expect(JSON.stringify(deployment.Properties.DestinationBucketName)).toContain(bucketId);
  });

  it('is the only origin the API\'s CORS allows', () => {
    const [, api] = only('AWS::ApiGatewayV2::Api');
    const cors = api.Properties.CorsConfiguration as { AllowOrigins: unknown[]; AllowHeaders: string[]; ExposeHeaders: string[] };
    expect(cors.AllowOrigins).toEqual([{ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }]] }]);
    expect(cors.AllowHeaders).toEqual(expect.arrayContaining(['authorization', 'if-match', 'idempotency-key']));
    expect(cors.ExposeHeaders).toEqual(expect.arrayContaining(['etag', 'location', 'retry-after', 'ratelimit', 'ratelimit-policy']));
  });
});
