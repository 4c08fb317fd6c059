/**
 * Every R2 key Sparki writes, built in one place so that a project's deletion (which removes
 * `projectPrefix`) provably reaches everything stored for it: all keys live under the project.
 */

/** Everything stored for one project. */
export const projectPrefix = (projectId: string) => `projects/${projectId}/`;

/** A pipeline version's detection snapshot, addressed by its content hash. */
export const snapshotKey = (projectId: string, snapshotHash: string) => `${projectPrefix(projectId)}snapshots/${snapshotHash}.json`;

/** A finished build's archived log. */
export const buildLogKey = (projectId: string, buildId: string) => `${projectPrefix(projectId)}builds/${buildId}/logs/build.log`;

/** All artifacts of one build. */
export const artifactPrefix = (projectId: string, buildId: string) => `${projectPrefix(projectId)}builds/${buildId}/artifacts/`;

/** One named artifact of a build. */
export const artifactKey = (projectId: string, buildId: string, name: string) => `${artifactPrefix(projectId, buildId)}${name}`;

/** The unpacked files of one sparki-static deployment. */
export const sitePrefix = (projectId: string, deploymentId: string) => `${projectPrefix(projectId)}deployments/${deploymentId}/site/`;

/** Written last when a site is published: its presence means every file is in place. */
export const sitePublishedMarker = (projectId: string, deploymentId: string) => `${projectPrefix(projectId)}deployments/${deploymentId}/published.json`;

/** One dependency cache entry's archive (server/caches/entries.ts), named by its row's id. */
export const cacheEntryKey = (projectId: string, entryId: string) => `${projectPrefix(projectId)}caches/${entryId}.tar.gz`;

/** Everything one deployment (release) wrote: its site's files and its published marker. */
export const deploymentFilesPrefix = (projectId: string, deploymentId: string) => `${projectPrefix(projectId)}deployments/${deploymentId}/`;
