/**
 * Examples the API document shows, shared by the routes that answer the same thing. Plain
 * literals: a route refers to one by name, or derives a variant in a function (`example: () => …`),
 * so that a function's bundle keeps only its own route's definition (see define.ts).
 */
export const policiesExample = {
  refreshTokenPolicy: { mode: 'expire-if-unused', value: 90, unit: 'days' },
  accessTokenLifetimeMinutes: 120, permittedUsers: 'all-users-self-authorize', ipRelaxation: 'enforce', sessionTimeoutMinutes: null,
} as const;

export const appExample = {
  appId: 'crm-sync', name: 'CRM Sync', description: 'Nightly CRM export', contactEmail: 'owner@example.com',
  callbackUrls: ['https://crm.example.com/oauth/callback'], scopes: ['api', 'refresh_token'], policies: policiesExample,
  userCount: 2, activeTokenCount: 5, lastUsedAt: '2026-11-28T16:30:00.000Z', createdAt: '2026-11-01T09:00:00.000Z', updatedAt: '2026-11-20T10:15:00.000Z',
} as const;

export const jobExample = {
  jobId: 'job_00mx1hp3cpf0e3b17a98c4', appId: 'crm-sync', target: { userIds: ['ada@example.com', 'grace@example.com'] }, status: 'queued',
  runAt: null, createdAt: '2026-11-28T16:30:00.000Z', startedAt: null, finishedAt: null, requestedBy: 'admin@example.com', reason: 'Offboarding',
  progress: { usersDone: 0, tokensRevoked: 0 }, error: null,
} as const;

export const usageExample = {
  userId: 'ada@example.com', userName: 'Ada Lovelace', firstUsedAt: '2026-11-02T08:00:00.000Z', lastUsedAt: '2026-11-28T16:30:00.000Z', useCount: 41, activeTokenCount: 3,
} as const;

export const registrationExample = {
  tokenId: 'kK8p3Qm0ZrX2bYc4dE6fGA', type: 'access', appId: 'crm-sync', userId: 'ada@example.com', issuedAt: '2026-11-28T16:00:00.000Z', expiresAt: '2026-11-28T18:00:00.000Z',
} as const;
