/**
 * The local server's audit export downloads (`GET /downloads/<sealed>`): what S3's presigned URLs
 * are deployed. The link's sealed part names the file and its expiry, under the service's key; an
 * altered or expired link is a 403, as S3 answers one. Needs no bearer token (contract section 1).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { config } from '../shared/config.js';
import { openDownload } from '../shared/export-download.js';
import { filesClient } from '../shared/export-files.js';

const PREFIX = '/downloads/';

export async function serveDownload(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (!path.startsWith(PREFIX) || !['GET', 'HEAD'].includes(req.method ?? '')) return false;
  const file = openDownload(path.slice(PREFIX.length), Date.now());
  if (!file) {
    res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('This download link is not valid, or has expired: ask the export for a new one.\n');
    return true;
  }
  try {
    const out = await filesClient.send(new GetObjectCommand({ Bucket: config.exportBucket, Key: file.key }));
    res.writeHead(200, {
      'content-type': file.contentType, 'content-disposition': file.disposition, 'cache-control': 'private, no-store',
      ...(out.ContentLength === undefined ? {} : { 'content-length': String(out.ContentLength) }),
    });
    if (req.method === 'HEAD') res.end();
    else await pipeline(out.Body as Readable, res);
  } catch (error) {
    if ((error as Error).name !== 'NoSuchKey') throw error;
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('The export\'s file is kept no more.\n');
  }
  return true;
}
