#!/usr/bin/env node
// The CLI's entry: its TypeScript runs through tsx (a dependency), so nothing is built first.
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2), process);
