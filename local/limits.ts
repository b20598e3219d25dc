/**
 * `npm run -s limits -- --org <orgId> [--introspect <rps>] [--register <rps>] [--admin <rps>] [--default <budget>]…`
 * Shows, or changes, one org's request budgets (contract section 10; docs/operations.md): a budget
 * given replaces the default for that org, `--default <budget>` drops its override again. Every
 * container applies the change within a minute. Locally it uses the running `npm start`; with
 * TABLE_NAME set, that table with the environment's AWS region and credentials.
 */
import { parseArgs } from 'node:util';
import { requestBudgets as budgets, type RequestBudget } from '../shared/registries.js';
import { localEnvironment } from './settings.js';

const usage = 'usage: npm run -s limits -- --org <orgId> [--introspect <rps>] [--register <rps>] [--admin <rps>] [--default introspect|register|admin]…';
const { values } = parseArgs({
  options: { org: { type: 'string' }, introspect: { type: 'string' }, register: { type: 'string' }, admin: { type: 'string' }, default: { type: 'string', multiple: true } },
});
const given = budgets.filter((b) => values[b] !== undefined);
const rps = (b: RequestBudget) => Number(values[b]);
if (!values.org || given.some((b) => !Number.isInteger(rps(b)) || rps(b) < 1) || (values.default ?? []).some((b) => !budgets.includes(b as never))) {
  console.error(usage);
  process.exit(2);
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (!process.env.TABLE_NAME) Object.assign(process.env, localEnvironment());
const { getOrgLimits, putOrgLimits } = await import('../shared/db/rate-window.js');
const { defaultBudgets } = await import('../shared/domain/rate-limits.js');
const overrides = await getOrgLimits(values.org);
if (given.length > 0 || values.default) {
  for (const b of given) overrides[b] = rps(b);
  for (const b of values.default ?? []) delete overrides[b as RequestBudget];
  await putOrgLimits(values.org, overrides);
}
process.stdout.write(`${JSON.stringify({ orgId: values.org, budgets: { ...defaultBudgets(), ...overrides }, overrides }, null, 2)}\n`);
