/**
 * The CDK app: the only place that reads context or environment (README, "Deploy").
 *   npx cdk deploy -c stage=prod -c jwtIssuer=https://idp.example.com/ -c jwtAudience=oauth-usage [-c alarmEmail=ops@example.com]
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { OAuthUsageStack } from './stack.js';

const app = new App();
const context = (name: string) => app.node.tryGetContext(name) as string | undefined;
const stage = context('stage') ?? 'dev';
const jwtIssuer = context('jwtIssuer');
const jwtAudience = context('jwtAudience');
if (!jwtIssuer || !jwtAudience) throw new Error('Set the identity provider: -c jwtIssuer=<issuer URL> -c jwtAudience=<audience>[,<audience>…]');

const stack = new OAuthUsageStack(app, `OAuthUsage-${stage}`, {
  stage,
  jwtIssuer,
  jwtAudience: jwtAudience.split(',').map((a) => a.trim()).filter(Boolean),
  ...(context('alarmEmail') ? { alarmEmail: context('alarmEmail') } : {}),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Tags.of(stack).add('service', 'oauth-usage');
Tags.of(stack).add('stage', stage);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
