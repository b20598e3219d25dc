#!/usr/bin/env node
// The CLI's entry: its TypeScript runs through tsx (a dependency), and the packages of this project it
// uses are taken from their sources, so nothing is built first.
import { register } from 'node:module';
import process from 'node:process';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
// Registered last, so it runs first: this project's packages resolve to their sources (their "@oauth-usage/source" condition).
const hook = `export function resolve(specifier, context, next) {
  return next(specifier, specifier.startsWith('@oauth-usage/') ? { ...context, conditions: [...context.conditions, '@oauth-usage/source'] } : context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2), process);
