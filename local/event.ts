import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';

type Claims = APIGatewayProxyEventV2WithJWTAuthorizer['requestContext']['authorizer']['jwt']['claims'];

export interface RequestParts {
  method: string;
  /** Path and query string as sent, e.g. `/v1/apps?limit=2`. */
  url: string;
  headers?: Record<string, string | string[] | undefined>;
  body?: string;
  /** The route key API Gateway matched (`POST /v1/apps`, or `$default`). */
  routeKey: string;
  pathParameters?: Record<string, string>;
  /** Verified JWT claims; absent on routes without the authorizer. */
  claims?: Claims;
}

/**
 * An API Gateway HTTP API payload 2.0 event, built the way API Gateway builds it: lower-case
 * header names with repeated values comma-joined, cookies split out, query parameters decoded
 * and comma-joined, and the authorizer's claims as strings.
 */
export function httpApiEvent(parts: RequestParts): APIGatewayProxyEventV2WithJWTAuthorizer {
  const url = new URL(parts.url, 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(parts.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const cookies = headers.cookie?.split(';').map((c) => c.trim()).filter(Boolean);
  delete headers.cookie;
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: parts.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies?.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(parts.pathParameters && Object.keys(parts.pathParameters).length ? { pathParameters: parts.pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: { jwt: { claims: stringClaims(parts.claims ?? {}), scopes: null } },
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
      http: { method: parts.method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: parts.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(parts.body !== undefined && parts.body !== '' ? { body: textual(headers['content-type']) ? parts.body : Buffer.from(parts.body).toString('base64') } : {}),
    isBase64Encoded: parts.body !== undefined && parts.body !== '' && !textual(headers['content-type']),
  };
}

/**
 * Whether API Gateway hands a body of this type to Lambda as text. AWS documents only "binary:
 * base64-encoded"; checked against AWS, the text types are `text/*` and JSON, XML and JavaScript,
 * and everything else (a form body, no content type at all) arrives base64-encoded.
 */
function textual(contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return type.startsWith('text/') || ['application/json', 'application/xml', 'application/javascript'].includes(type);
}

/** API Gateway hands JWT claims to the integration as strings (arrays as `[a b]`). */
function stringClaims(claims: Claims): Claims {
  return Object.fromEntries(
    Object.entries(claims).map(([k, v]) => [k, Array.isArray(v) ? `[${v.join(' ')}]` : String(v)]),
  );
}

/** A Lambda context good enough for handlers that only read the request id and remaining time. */
export function lambdaContext(functionName: string, timeoutMs = 29_000): Context {
  const deadline = Date.now() + timeoutMs;
  const awsRequestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
