/**
 * The CDK app: the only place that reads context or environment (README, "Deploy").
 *   npx cdk deploy -c stage=prod
 */
import { App, Tags } from 'aws-cdk-lib';
import { OAuthUsageStack } from './stack.js';

const app = new App();
const stage = (app.node.tryGetContext('stage') as string | undefined) ?? 'dev';

const stack = new OAuthUsageStack(app, `OAuthUsage-${stage}`, {
  stage,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Tags.of(stack).add('service', 'oauth-usage');
Tags.of(stack).add('stage', stage);
