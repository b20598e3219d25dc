/**
 * The files of audit exports, in the export bucket (S3; locally the emulator's S3): written by the
 * worker's export steps, a small file in one PutObject, a large one as a multipart upload whose
 * parts the caller records (shared/db/audit-export.ts). Downloads are signed elsewhere
 * (export-download.ts), so the worker's bundle carries no presigner.
 */
import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { config } from './config.js';

/** One client per container (exported for instrumentation: the benchmark counts its requests). */
export const filesClient = new S3Client({ region: config.region, ...(config.s3Endpoint ? { endpoint: config.s3Endpoint, forcePathStyle: true } : {}) });

/** S3's rules for a multipart upload: every part but the last at least 5 MiB; at most 10,000 parts. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;

const Bucket = () => config.exportBucket;

export const exportFiles = {
  async put(key: string, body: Buffer, contentType: string): Promise<void> {
    await filesClient.send(new PutObjectCommand({ Bucket: Bucket(), Key: key, Body: body, ContentType: contentType }));
  },
  /** The whole object (a carry object: smaller than a part). */
  async read(key: string): Promise<Buffer> {
    const out = await filesClient.send(new GetObjectCommand({ Bucket: Bucket(), Key: key }));
    return Buffer.from(await (out.Body as { transformToByteArray: () => Promise<Uint8Array> }).transformToByteArray());
  },
  async remove(key: string): Promise<void> {
    await filesClient.send(new DeleteObjectCommand({ Bucket: Bucket(), Key: key }));
  },
  async startUpload(key: string, contentType: string): Promise<string> {
    const out = await filesClient.send(new CreateMultipartUploadCommand({ Bucket: Bucket(), Key: key, ContentType: contentType }));
    if (!out.UploadId) throw new Error(`S3 started no upload for ${key}`);
    return out.UploadId;
  },
  /** Writes (or writes again) part `number`; answers its ETag. */
  async uploadPart(key: string, uploadId: string, number: number, body: Buffer): Promise<string> {
    const out = await filesClient.send(new UploadPartCommand({ Bucket: Bucket(), Key: key, UploadId: uploadId, PartNumber: number, Body: body }));
    if (!out.ETag) throw new Error(`S3 gave part ${number} of ${key} no ETag`);
    return out.ETag;
  },
  /**
   * Completes the upload from its recorded parts; answers the file's size. Completing it again (a
   * step that died after completing) finds no upload, and the object that completion made.
   */
  async complete(key: string, uploadId: string, parts: { number: number; etag: string }[]): Promise<number> {
    try {
      await filesClient.send(new CompleteMultipartUploadCommand({
        Bucket: Bucket(), Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.number, ETag: p.etag })) },
      }));
    } catch (error) {
      if ((error as Error).name !== 'NoSuchUpload') throw error;
    }
    return exportFiles.size(key);
  },
  async size(key: string): Promise<number> {
    const head = await filesClient.send(new HeadObjectCommand({ Bucket: Bucket(), Key: key }));
    return head.ContentLength ?? 0;
  },
};
