/**
 * What one synchronous Lambda invocation can carry (AWS Lambda quotas: 6 MB each way; the
 * runtime's refusal names 6,291,556 bytes for a response). The request limit applies to the
 * whole event API Gateway builds, the response limit to the whole result the handler returns
 * (status, headers and the body as a JSON string inside it).
 */
export const LAMBDA_MAX_REQUEST_BYTES = 6 * 1024 * 1024;
export const LAMBDA_MAX_RESPONSE_BYTES = 6_291_556;

/** The bytes `value` takes once serialized as a JSON string inside another JSON document (the body inside Lambda's result). */
export const bytesAsBodyOfResult = (value: unknown): number => Buffer.byteLength(JSON.stringify(JSON.stringify(value))) - 2;
