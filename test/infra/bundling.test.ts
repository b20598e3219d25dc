import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { ServiceFunction } from '../../infra/constructs/service-function.js';
import { getApp } from '../../shared/api/apps.js';

const outdir = mkdtempSync(join(tmpdir(), 'oauth-usage-bundling-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('a function as the stack bundles it (esbuild, for real)', () => {
  it('holds its route, and middy\'s node:stream/web import is the lazy stand-in', () => {
    const app = new App({ outdir });
    new ServiceFunction(new Stack(app, 'Bundling'), 'GetApp', { entry: 'http/get-app' });
    app.synth();
    const assets = readdirSync(outdir).filter((name) => name.startsWith('asset.'));
    expect(assets).toHaveLength(1);
    const bundle = readFileSync(join(outdir, assets[0] as string, 'index.mjs'), 'utf8');
    expect(bundle).toContain(getApp.summary);
    expect(bundle).not.toContain('node:stream/web');
  });
});
