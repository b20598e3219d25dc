import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { config } from '../config.js';
import { logger } from '../logger.js';
import { isTransientConflict, retrying, RETRY } from '../retry.js';

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
  (next, context) => (args) => {
    let conflict: unknown;
    return retrying(async (attempt) => {
      try {
        return await next(args);
      } catch (error) {
        if (!isTransientConflict(error)) throw error;
        conflict = error;
        logger.warn('retrying a DynamoDB request after a transaction conflict', { command: context.commandName, attempt: attempt + 1 });
        return RETRY;
      }
    }, () => conflict as Error);
  },
  { step: 'initialize', name: 'retryTransactionConflicts', override: true },
);

export const db = DynamoDBDocumentClient.from(dynamo, {
  marshallOptions: { removeUndefinedValues: true },
});

export const TableName = config.tableName;
