/**
 * How the revocation queue delivers messages to its worker. The CDK stack and the local poller
 * both read it, so a job step runs under the same limits locally as deployed.
 */
export const workerDelivery = {
  /** The worker's timeout. */
  timeoutSeconds: 120,
  /** Messages per invocation: the event source's batch size. */
  batchSize: 10,
  /**
   * Six times the worker's timeout, as AWS advises for an SQS event source: a message is not
   * delivered again while a slow invocation is still working on it.
   */
  visibilityTimeoutSeconds: 6 * 120,
  /** Failed receives before a message moves to the dead-letter queue. */
  maxReceiveCount: 5,
} as const;
