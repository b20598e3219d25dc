#!/usr/bin/env node
// The CLI's entry: its TypeScript runs through tsx (a dependency), and the packages it uses are taken
// from their sources (their "source" export condition), so nothing is built first.
import { register } from 'node:module';
import process from 'node:process';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
// Registered last, so it runs first: every resolution also offers the "source" condition.
register('data:text/javascript,export function resolve(specifier, context, next) { return next(specifier, { ...context, conditions: [...context.conditions, "source"] }); }');
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2), process);
