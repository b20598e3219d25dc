/**
 * The CDK app: the only place that reads context or environment (README, "Deploy").
 *   npx cdk deploy -c stage=prod -c jwtIssuer=https://idp.example.com/ -c jwtAudience=oauth-usage -c consoleClientId=<public client id>
 *     [-c consoleSignInOrigins=https://auth.example.com] [-c alarmEmail=ops@example.com] [-c sweepIntervalMinutes=1]
 *     [-c orgIntrospectRps=500] [-c orgRegisterRps=100] [-c orgAdminRps=20]
 */
import { App, Duration, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { OAuthUsageStack } from './stack.js';

const app = new App();
const context = (name: string) => app.node.tryGetContext(name) as string | undefined;
const stage = context('stage') ?? 'dev';
const jwtIssuer = context('jwtIssuer');
const jwtAudience = context('jwtAudience');
if (!jwtIssuer || !jwtAudience) throw new Error('Set the identity provider: -c jwtIssuer=<issuer URL> -c jwtAudience=<audience>[,<audience>…]');

function wholeNumber(name: string): number {
  const n = Number(context(name));
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number (0: reserve none)`);
  return n;
}

const sweepMinutes = Number(context('sweepIntervalMinutes') ?? 1);
if (!Number.isInteger(sweepMinutes) || sweepMinutes < 1) throw new Error('sweepIntervalMinutes must be a whole number of minutes, at least 1');

/** Each org's default request budgets, when given (a budget of one org is changed with `npm run limits`). */
const budgetContext = { introspect: 'orgIntrospectRps', register: 'orgRegisterRps', admin: 'orgAdminRps' } as const;
const orgRateLimits = Object.fromEntries(Object.entries(budgetContext).filter(([, name]) => context(name) !== undefined).map(([budget, name]) => {
  const n = Number(context(name));
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number of requests a second, at least 1`);
  return [budget, n];
}));

const stack = new OAuthUsageStack(app, `OAuthUsage-${stage}`, {
  stage,
  jwtIssuer,
  jwtAudience: jwtAudience.split(',').map((a) => a.trim()).filter(Boolean),
  ...(context('alarmEmail') ? { alarmEmail: context('alarmEmail') } : {}),
  sweepInterval: Duration.minutes(sweepMinutes),
  ...(Object.keys(orgRateLimits).length > 0 ? { orgRateLimits } : {}),
  reservedConcurrency: {
    ...(context('workerReservedConcurrency') === undefined ? {} : { worker: wholeNumber('workerReservedConcurrency') }),
    ...(context('sweepReservedConcurrency') === undefined ? {} : { sweep: wholeNumber('sweepReservedConcurrency') }),
  },
  console: {
    clientId: context('consoleClientId') ?? 'oauth-usage-console',
    signInOrigins: (context('consoleSignInOrigins') ?? '').split(',').map((o) => o.trim()).filter(Boolean),
  },
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Tags.of(stack).add('service', 'oauth-usage');
Tags.of(stack).add('stage', stage);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
