/**
 * `sparki-static`, the built-in target: the build's output directory (the runner's .tar.gz
 * artifact) unpacked into R2 once per deployment, immutable, and served by the Worker on the
 * sites origin (`SITES_ORIGIN`, one host per project and stage: server/sites/hosts.ts) through
 * the stage's alias. The deployment is reachable before any traffic goes to it on its own host,
 * which is where health checks look (in process, server/sites/serve.ts).
 * Deploy, blue-green switch and rollback are one alias update; a canary is a weighted alias.
 */
import { z } from "zod";
import { localProblems, type DeployContext, type PlatformAdapter, type PlatformDeployment } from "../../../core/deploy/adapter.ts";
import type { Cache } from "../../cache/cache.js";
import type { Db } from "../../db/client.js";
import { readAlias, setCanary, switchAlias } from "../aliases.js";
import type { TarLimits } from "../../../core/archive/tar-reader.ts";
import { publishSite } from "../static-site.js";
import { siteUrl } from "../../sites/hosts.js";
import { sitePublishedMarker } from "../../r2-keys.js";

export const sparkiStaticSettings = z.strictObject({});

export interface SparkiStaticDeps {
  bucket: R2Bucket;
  db: () => Promise<Db>;
  cache: Cache;
  /** The build artifact's R2 key for a context (the orchestrator knows where builds keep them). */
  artifactKey: (ctx: DeployContext) => string | null;
  /** Caps on unpacking the archive (SITE_MAX_MIB, SITE_MAX_FILES, SITE_MAX_FILE_MIB). */
  siteLimits: TarLimits;
  /** The sites origin (SITES_ORIGIN); without it this instance serves no sites. */
  sitesOrigin: string | null;
}

const publishedMarker = sitePublishedMarker;

export function sparkiStaticAdapter(deps: SparkiStaticDeps): PlatformAdapter {
  const address = (projectId: string, deploymentId: string) => siteUrl(deps.sitesOrigin, { projectId, deploymentId });
  return {
    platform: "sparki-static",
    settings: sparkiStaticSettings,
    credentials: [],

    async validate(ctx) {
      const { problems } = localProblems("sparki-static", [], sparkiStaticSettings, ctx);
      if (!deps.sitesOrigin) problems.push("this instance serves no sites: SITES_ORIGIN is not set");
      const key = deps.artifactKey(ctx);
      if (!key) return [...problems, "the stage has no build output to serve (the build job declares no output directory)"];
      const head = await deps.bucket.head(key);
      if (!head) problems.push(`artifact ${key.split("/artifacts/")[1] ?? key} is not in storage`);
      else if (head.customMetadata?.kind !== "directory")
        problems.push(`artifact ${key.split("/artifacts/")[1] ?? key} is a single file, not a site directory`);
      return problems;
    },

    /** Publishes the site once per deployment (every stage of it shares the same files). */
    async deploy(ctx) {
      const id = ctx.deploymentId;
      const marker = publishedMarker(ctx.projectId, id);
      if (!(await deps.bucket.head(marker))) {
        const key = deps.artifactKey(ctx);
        // Streamed: a small archive may inflate far past an isolate's memory (publishSite caps it).
        const open = async () => {
          const object = key ? await deps.bucket.get(key) : null;
          if (!object) throw new Error("the build artifact is gone from storage");
          return object.body;
        };
        const { files, bytes } = await publishSite(deps.bucket, ctx.projectId, id, open, deps.siteLimits);
        await deps.bucket.put(marker, JSON.stringify({ files, bytes, commitSha: ctx.commitSha, at: new Date().toISOString() }));
      }
      return { id, url: address(ctx.projectId, id) };
    },

    async state() {
      return "ready";
    },

    async route(ctx, deployment, percent) {
      if (percent <= 0) return;
      const db = await deps.db();
      const alias = await readAlias(deps.db, deps.cache, ctx.projectId, ctx.stage);
      // A canary needs something to share the traffic with; on a first deployment there is none.
      if (percent >= 100 || !alias || alias.deploymentId === deployment.id) await switchAlias(db, deps.cache, ctx.projectId, ctx.stage, deployment.id);
      else await setCanary(db, deps.cache, ctx.projectId, ctx.stage, deployment.id, percent);
    },

    async rollback(ctx, to: PlatformDeployment) {
      await switchAlias(await deps.db(), deps.cache, ctx.projectId, ctx.stage, to.id);
      return { id: to.id, url: address(ctx.projectId, to.id) };
    },

    addressOf(ctx, deployment) {
      return address(ctx.projectId, deployment.id);
    },
  };
}
