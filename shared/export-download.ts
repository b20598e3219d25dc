/**
 * Download links of finished audit exports, valid DOWNLOAD_SECONDS and needing no bearer token
 * (contract section 5): an S3 presigned GetObject URL deployed; locally (EXPORT_DOWNLOADS_URL set)
 * a URL of the local server carrying a sealed description of the file, which only the service's
 * key opens (local/downloads.ts serves it).
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { config } from './config.js';
import { sealerNow } from './domain/paging.js';
import { filesClient } from './export-files.js';

export const DOWNLOAD_SECONDS = 15 * 60;
const SEAL_SCOPE = 'audit-export-download';

/** A file as its download serves it. */
export interface DownloadableFile {
  key: string;
  filename: string;
  contentType: string;
}

/** The file's download link, valid DOWNLOAD_SECONDS from `now`. */
export async function downloadUrl(file: DownloadableFile, now: number): Promise<string> {
  const disposition = `attachment; filename="${file.filename}"`;
  if (config.exportDownloadsUrl) {
    const sealed = sealerNow().seal(SEAL_SCOPE, { ...file, disposition, expires: now + DOWNLOAD_SECONDS * 1000 });
    return `${config.exportDownloadsUrl}/downloads/${sealed}`;
  }
  const command = new GetObjectCommand({ Bucket: config.exportBucket, Key: file.key, ResponseContentDisposition: disposition, ResponseContentType: file.contentType });
  return getSignedUrl(filesClient, command, { expiresIn: DOWNLOAD_SECONDS });
}

/** What a local download link names, if it is one the service sealed and it has not expired. */
export function openDownload(sealed: string, now: number): (DownloadableFile & { disposition: string }) | undefined {
  const value = sealerNow().open(SEAL_SCOPE, sealed) as (DownloadableFile & { disposition: string; expires: number }) | undefined;
  if (!value || typeof value !== 'object' || typeof value.expires !== 'number' || value.expires <= now) return undefined;
  return { key: value.key, filename: value.filename, contentType: value.contentType, disposition: value.disposition };
}
