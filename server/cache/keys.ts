/** Cache keys and TTLs (seconds) from the seed. A cache is never the only copy of anything. */
export const ttl = {
  userProfile: 3600,
  permissions: 900,
  pipeline: 300,
  detection: 300,
  projectMetadata: 3600,
  deploymentStatus: 600,
  apiToken: 300,
} as const;

export const keys = {
  user: (userId: string) => `user:${userId}`,
  // All of a user's roles in one entry (the seed keys it per workspace): one read authorises a
  // request before its workspace is even known, in the same round trip as the rest.
  permissions: (userId: string) => `user:${userId}:permissions`,
  project: (projectId: string) => `project:${projectId}`,
  latestPipeline: (projectId: string) => `pipeline:project:${projectId}:latest`,
  pipelineVersion: (projectId: string, version: number) => `pipeline:project:${projectId}:v${version}`,
  detection: (snapshotHash: string) => `detection:${snapshotHash}`,
  apiToken: (tokenHash: string) => `token:api:${tokenHash}`,
  runner: (tokenHash: string) => `token:runner:${tokenHash}`,
  // Whether a runner is still registered, for job-token calls (dropped when it is revoked).
  runnerById: (runnerId: string) => `runner:${runnerId}`,
  revokedAccessToken: (jti: string) => `token:revoked:${jti}`,
  rateLimit: (scope: string, subject: string, window: number) => `ratelimit:${scope}:${subject}:${window}`,
} as const;
