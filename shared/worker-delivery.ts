/**
 * How the revocation queue delivers messages to its worker. The CDK stack and the local poller
 * both read it, so a job step runs under the same limits locally as deployed.
 */
const timeoutSeconds = 120;

export const workerDelivery = {
  /** The worker's timeout. */
  timeoutSeconds,
  /** Messages per invocation: the event source's batch size. */
  batchSize: 10,
  /**
   * Six times the worker's timeout, as AWS advises for an SQS event source: a message is not
   * delivered again while a slow invocation is still working on it.
   */
  visibilityTimeoutSeconds: 6 * timeoutSeconds,
  /** Failed receives before a message moves to the dead-letter queue. */
  maxReceiveCount: 5,
} as const;
