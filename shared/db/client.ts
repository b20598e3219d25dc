import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { config } from '../config.js';
import { logger } from '../logger.js';
import { backoff, isTransientConflict, TRANSIENT_ATTEMPTS } from '../retry.js';

/** One client per container, reused across invocations. */
export const dynamo = new DynamoDBClient({
  region: config.region,
  ...(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint } : {}),
});

/**
 * The SDK retries throttling and network errors but not a write that met a transaction in
 * progress: those are retried here, for every request of the service, and each retry is logged.
 */
dynamo.middlewareStack.add(
  (next, context) => async (args) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(args);
      } catch (error) {
        if (attempt >= TRANSIENT_ATTEMPTS || !isTransientConflict(error)) throw error;
        logger.warn('retrying a DynamoDB request after a transaction conflict', { command: context.commandName, attempt });
        await backoff(attempt);
      }
    }
  },
  { step: 'initialize', name: 'retryTransactionConflicts', override: true },
);

export const db = DynamoDBDocumentClient.from(dynamo, {
  marshallOptions: { removeUndefinedValues: true },
});

export const TableName = config.tableName;
