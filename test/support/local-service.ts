import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localIssuer } from '../../local/jwt.js';

/**
 * `npm start`'s whole stack in a process of its own (the HTTP API, the queue worker's poller, the
 * sweep timer), on a free port, over this test file's table in the run's DynamoDB Local and SQS
 * emulator: what an integrator's authorization server or script talks to.
 */
export interface LocalService {
  url: string;
  /** A JWT of the service's local issuer (`npm run -s token` in process). */
  mint(claims: { sub: string; org_id: string; scope: string; org_edition?: string }): Promise<string>;
  stop(): Promise<void>;
}

const freePort = () => new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as AddressInfo;
    probe.close(() => resolve(port));
  });
});

export async function startLocalService(env: Record<string, string> = {}): Promise<LocalService> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'ou-service-'));
  const child: ChildProcess = spawn(join('node_modules', '.bin', 'tsx'), ['local/main.ts'], {
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir, QUEUE_URL: '', SWEEP_QUEUE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not get ready in 60 s:\n${output}`)), 60_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('OAuth Usage service ready at')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}):\n${output}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const issuer = await localIssuer(dataDir, url, 'oauth-usage');
  return {
    url,
    mint: ({ org_edition = 'Developer', ...claims }) => issuer.mint({ ...claims, org_edition }),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
