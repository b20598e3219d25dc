/**
 * `npm run -s limits -- --org <orgId> [--introspect <rps>] [--register <rps>] [--admin <rps>] [--audit-retention-days <days>] [--default <name>]…`
 * Shows, or changes, one org's request budgets (contract section 10; docs/operations.md) and how
 * long it keeps its audit events: a value given replaces the default for that org, `--default
 * <name>` drops its override again. Every container applies the change within a minute (a new
 * retention applies to the events written after it). Locally it uses the running `npm start`; with
 * TABLE_NAME set, that table with the environment's AWS region and credentials.
 */
import { parseArgs } from 'node:util';
import { requestBudgets as budgets, type RequestBudget } from '../shared/registries.js';
import { localEnvironment } from './settings.js';

const usage = 'usage: npm run -s limits -- --org <orgId> [--introspect <rps>] [--register <rps>] [--admin <rps>] [--audit-retention-days <30–3650>] [--default introspect|register|admin|audit-retention-days]…';
const { values } = parseArgs({
  options: { org: { type: 'string' }, introspect: { type: 'string' }, register: { type: 'string' }, admin: { type: 'string' }, 'audit-retention-days': { type: 'string' }, default: { type: 'string', multiple: true } },
});
const RETENTION = 'audit-retention-days';
const retention = values[RETENTION] === undefined ? undefined : Number(values[RETENTION]);
const given = budgets.filter((b) => values[b] !== undefined);
const rps = (b: RequestBudget) => Number(values[b]);
const defaults = values.default ?? [];
if (!values.org || given.some((b) => !Number.isInteger(rps(b)) || rps(b) < 1) || defaults.some((b) => b !== RETENTION && !budgets.includes(b as never))) {
  console.error(usage);
  process.exit(2);
}
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (!process.env.TABLE_NAME) Object.assign(process.env, localEnvironment());
const { AUDIT_RETENTION_RANGE, DEFAULT_AUDIT_RETENTION_DAYS, ownAuditRetentionDays, setAuditRetentionDays } = await import('../shared/db/audit-retention.js');
if (retention !== undefined && !(Number.isInteger(retention) && retention >= AUDIT_RETENTION_RANGE.min && retention <= AUDIT_RETENTION_RANGE.max)) {
  console.error(usage);
  process.exit(2);
}
const { getOrgLimits, putOrgLimits } = await import('../shared/db/rate-window.js');
const { defaultBudgets } = await import('../shared/domain/rate-limits.js');
const overrides = await getOrgLimits(values.org);
const budgetDefaults = defaults.filter((b) => b !== RETENTION);
if (given.length > 0 || budgetDefaults.length > 0) {
  for (const b of given) overrides[b] = rps(b);
  for (const b of budgetDefaults) delete overrides[b as RequestBudget];
  await putOrgLimits(values.org, overrides);
}
if (retention !== undefined || defaults.includes(RETENTION)) await setAuditRetentionDays(values.org, retention ?? null);
const ownRetention = await ownAuditRetentionDays(values.org);
process.stdout.write(`${JSON.stringify({
  orgId: values.org, budgets: { ...defaultBudgets(), ...overrides }, overrides,
  auditRetentionDays: ownRetention ?? DEFAULT_AUDIT_RETENTION_DAYS, ...(ownRetention === undefined ? {} : { ownAuditRetentionDays: ownRetention }),
}, null, 2)}\n`);
