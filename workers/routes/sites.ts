/**
 * Sites are no longer served on the API's origin: `/sites/{project id}/{stage}/…` and
 * `/sites/{project id}/@{deployment id}/…` (the addresses before sites had their own origin)
 * redirect to the same file on the site's own host (server/sites/hosts.ts), and answer 404 when
 * this instance serves no sites. Nothing of a site's content is ever sent from this origin.
 */
import { Hono } from "hono";
import { z } from "zod";
import { SparkiError } from "../../core/errors.js";
import type { AppEnv } from "../app-env.js";
import { siteUrl } from "../../server/sites/hosts.js";

const Params = z.object({
  projectId: z.uuid(),
  stage: z.union([
    z
      .string()
      .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/)
      .max(50),
    z.templateLiteral(["@", z.uuid()]),
  ]),
});

export const siteRoutes = new Hono<AppEnv>().on(["GET", "HEAD"], "/sites/:projectId/:stage/*", (c) => {
  const parsed = Params.safeParse(c.req.param());
  if (!parsed.success) throw new SparkiError("not_found", { detail: "No such site." });
  const { projectId, stage } = parsed.data;
  const target = stage.startsWith("@") ? { projectId, deploymentId: stage.slice(1) } : { projectId, stage };
  const base = siteUrl(c.var.config.SITES_ORIGIN, target);
  if (!base) throw new SparkiError("not_found", { detail: "Sites are served on their own origin, and this one has no address there." });
  // The rest of the path, still percent-encoded; the site's own host normalises it.
  const rest = new URL(c.req.url).pathname.split("/").slice(4).join("/");
  return c.redirect(`${base}${rest}${new URL(c.req.url).search}`, 308);
});
