import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/services.js';

/**
 * `npm start` listens on loopback only: the API and the services it starts (DynamoDB Local, the
 * SQS emulator) take no credentials, so one reachable from the network would let anyone on it
 * delete a tombstone or lower a watermark. Every listening TCP socket of its process tree is
 * read from /proc (Linux, as CI runs).
 */
let server: ChildProcess | undefined;
afterAll(async () => {
  // Waited for: the server stops what it started (DynamoDB Local, the SQS emulator) on its way out.
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((resolve) => server?.once('exit', resolve));
  server.kill('SIGTERM');
  await exited;
});

/** The process and its descendants, from /proc/<pid>/stat's parent field. */
function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended while we looked
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, parent] of parents) if (parent === tree[i]) tree.push(pid);
  return tree;
}

const socketInodes = (pid: number) => readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
  try {
    return [/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1]].filter((x): x is string => x !== undefined);
  } catch {
    return [];
  }
});

/** Listening sockets by inode: their local address as /proc/net/tcp{,6} prints it (hex, host byte order). */
function listeningSockets(): Map<string, string> {
  const listening = new Map<string, string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === '0A') listening.set(fields[9] as string, fields[1] as string); // 0A: LISTEN
    }
  }
  return listening;
}

const LOOPBACK = [
  /^0100007F:/, // 127.0.0.1
  /^0000000000000000FFFF00000100007F:/, // ::ffff:127.0.0.1
  /^00000000000000000000000001000000:/, // ::1
];

describe('npm start', () => {
  it('listens on 127.0.0.1 only, in every process it starts', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), DATA_DIR: mkdtempSync(join(tmpdir(), 'ou-network-')) };
    // Its own DynamoDB Local and SQS emulator, not the test run's.
    for (const name of ['DYNAMODB_ENDPOINT', 'SQS_ENDPOINT', 'QUEUE_URL']) delete env[name];
    server = spawn(join('node_modules', '.bin', 'tsx'), ['local/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const ready = new Promise<void>((resolveReady, reject) => {
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('service ready')) resolveReady();
      };
      server?.stdout?.on('data', read);
      server?.stderr?.on('data', read);
      server?.once('exit', () => reject(new Error(`npm start exited:\n${output}`)));
    });
    await ready;

    const listening = listeningSockets();
    const tree = processTree(server.pid as number);
    const sockets = tree.flatMap(socketInodes).filter((inode) => listening.has(inode)).map((inode) => listening.get(inode) as string);
    // The API, DynamoDB Local and the SQS emulator at least.
    expect(sockets.length, output).toBeGreaterThanOrEqual(3);
    expect(sockets.filter((address) => !LOOPBACK.some((loopback) => loopback.test(address)))).toEqual([]);
    expect(sockets).toContain(`0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`);
  });
});
