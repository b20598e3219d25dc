import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Structured JSON logs (level from POWERTOOLS_LOG_LEVEL). Nothing logs request bodies or headers,
 * so raw tokens and bearer JWTs never reach a log line.
 */
export const logger = new Logger({ serviceName: 'oauth-usage' });
