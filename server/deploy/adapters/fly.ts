/**
 * Fly.io adapter over the Machines API (https://fly.io/docs/machines/api/machines-resource/).
 * A deploy moves every Machine of the app to the configured image with the stage env; rollback
 * moves them back to an earlier deployment's image. Fly has no "deployment" object in the
 * Machines API, so the PlatformDeployment id is our own encoding of what we asked for: the image
 * and, per Machine, the `instance_id` (the Machine version) the update produced.
 */
import { z } from "zod";
import {
  localProblems,
  PlatformError,
  type DeployContext,
  type PlatformAdapter,
  type PlatformDeployment,
  type PlatformState,
} from "../../../core/deploy/adapter.ts";
import { OutboundRefused } from "../../../core/net/outbound.ts";
import { PlatformClient } from "../platform-http.ts";

const DEFAULT_API = "https://api.machines.dev/v1";
const TOKEN = "FLY_API_TOKEN";

/** sparki.yml settings: `image` may hold `{commitSha}` / `{shortSha}` for a per-commit tag. */
export const flySettings = z.strictObject({
  app: z.string().min(1),
  image: z.string().min(1),
  apiUrl: z.url().optional(),
});
export type FlySettings = z.infer<typeof flySettings>;

const flyError = z.object({ error: z.string() });
const check = z.object({ name: z.string(), status: z.string(), output: z.string().optional() });
/** Only the fields we read; unknown config keys are kept (loose) so an update changes nothing else. */
const machineConfig = z.looseObject({ image: z.string(), env: z.record(z.string(), z.string()).optional() });
const machine = z.object({
  id: z.string(),
  state: z.string(),
  instance_id: z.string(),
  config: machineConfig,
  checks: z.array(check).optional(),
});
type Machine = z.infer<typeof machine>;

/** What the PlatformDeployment id carries (base64url JSON), so state and rollback need no store. */
const deploymentRef = z.object({ image: z.string(), machines: z.record(z.string(), z.string()) });
type DeploymentRef = z.infer<typeof deploymentRef>;

/** Encodes a deployment reference as an opaque id. */
export function encodeFlyDeployment(ref: DeploymentRef): string {
  return Buffer.from(JSON.stringify(ref)).toString("base64url");
}

/** Decodes an id made by {@link encodeFlyDeployment}; anything else is a caller bug. */
export function decodeFlyDeployment(id: string): DeploymentRef {
  try {
    return deploymentRef.parse(JSON.parse(Buffer.from(id, "base64url").toString("utf8")));
  } catch {
    throw new PlatformError("fly", 400, `not a deployment id of this adapter: ${id}`);
  }
}

/** Resolves the image template for a commit. */
export function flyImage(template: string, commitSha: string): string {
  return template.replaceAll("{commitSha}", commitSha).replaceAll("{shortSha}", commitSha.slice(0, 7));
}

class FlyApi {
  private readonly http: PlatformClient;

  constructor(
    ctx: DeployContext,
    private readonly s: FlySettings,
  ) {
    this.http = new PlatformClient(ctx, {
      platform: "fly",
      baseUrl: s.apiUrl ?? DEFAULT_API,
      tokenName: TOKEN,
      // Fly answers errors as `{error: string}`.
      problemOf: (status, body) => {
        const e = flyError.safeParse(body);
        return status >= 400 && e.success ? { message: e.data.error } : null;
      },
    });
  }

  app(): string {
    return encodeURIComponent(this.s.app);
  }

  async list(): Promise<Machine[]> {
    return this.http.request({ method: "GET", path: `/apps/${this.app()}/machines`, answer: z.array(machine), idempotent: true });
  }

  async get(id: string): Promise<Machine> {
    return this.http.request({ method: "GET", path: `/apps/${this.app()}/machines/${encodeURIComponent(id)}`, answer: machine, idempotent: true });
  }

  /**
   * Update = full config replacement per the docs, so the current config is sent back with our
   * changes. Idempotent: the same config sent twice leaves the Machine as once (at worst one more
   * restart), and the answer's instance_id is the version that runs either way.
   */
  async update(m: Machine, image: string, env: Record<string, string>): Promise<Machine> {
    const config = { ...m.config, image, env: { ...(m.config.env ?? {}), ...env } };
    return this.http.request({
      method: "POST",
      path: `/apps/${this.app()}/machines/${encodeURIComponent(m.id)}`,
      json: { config },
      answer: machine,
      idempotent: true,
    });
  }

  /** Short wait so `state` stays a quick poll: true when started, false on the documented 408 timeout. */
  async waitStarted(id: string, instanceId: string): Promise<boolean> {
    const q = new URLSearchParams({ state: "started", instance_id: instanceId, timeout: "2" });
    try {
      // 408 is the wait's documented "not started yet" answer, read below, not a blip to retry.
      await this.http.request({
        method: "GET",
        path: `/apps/${this.app()}/machines/${encodeURIComponent(id)}/wait?${q}`,
        answer: z.unknown(),
        idempotent: true,
        final: [408],
      });
      return true;
    } catch (err) {
      if (err instanceof PlatformError && err.status === 408) return false;
      throw err;
    }
  }
}

function settingsOf(ctx: DeployContext): FlySettings {
  return flySettings.parse(ctx.settings);
}

async function moveAll(api: FlyApi, app: string, image: string, env: Record<string, string>): Promise<PlatformDeployment> {
  const machines = await api.list();
  if (machines.length === 0) throw new PlatformError("fly", 404, "the app has no Machines to update");
  const ref: DeploymentRef = { image, machines: {} };
  // One at a time, like flyctl's rolling strategy: a bad image never takes every Machine down at once
  // before the first update has been accepted.
  for (const m of machines) {
    const updated = await api.update(m, image, env);
    ref.machines[updated.id] = updated.instance_id;
  }
  return { id: encodeFlyDeployment(ref), url: `https://${app}.fly.dev` };
}

/** Fly.io Machines adapter. */
export const flyAdapter: PlatformAdapter = {
  platform: "fly",
  apiOrigin: new URL(DEFAULT_API).origin,
  settings: flySettings,
  credentials: [TOKEN],

  async validate(ctx) {
    const { problems, settings } = localProblems("fly", [TOKEN], flySettings, ctx);
    // Without settings or a token a call can only fail for a reason already reported.
    if (problems.length > 0 || !settings) return problems;
    try {
      const machines = await new FlyApi(ctx, settings).list();
      if (machines.length === 0) problems.push(`fly app ${settings.app} has no Machines to update (create one with fly deploy first)`);
    } catch (err) {
      if (!(err instanceof PlatformError || err instanceof OutboundRefused)) throw err;
      problems.push(err instanceof PlatformError && err.status === 404 ? `fly app ${settings.app} not found (${err.message})` : err.message);
    }
    return problems;
  },

  async deploy(ctx) {
    const s = settingsOf(ctx);
    return moveAll(new FlyApi(ctx, s), s.app, flyImage(s.image, ctx.commitSha), ctx.env);
  },

  async state(ctx, deployment): Promise<PlatformState> {
    const api = new FlyApi(ctx, settingsOf(ctx));
    const ref = decodeFlyDeployment(deployment.id);
    let allReady = true;
    for (const [id, instanceId] of Object.entries(ref.machines)) {
      let m = await api.get(id);
      // A later update replaced this version: this deployment is no longer what runs.
      if (m.config.image !== ref.image) return "failed";
      if (m.state === "failed" || m.state === "destroyed" || m.state === "destroying") return "failed";
      if (m.state !== "started") {
        if (!(await api.waitStarted(id, instanceId))) {
          allReady = false;
          continue;
        }
        m = await api.get(id);
      }
      // Health checks start out critical while the app boots, so only "passing" everywhere means ready.
      if (m.state !== "started" || !(m.checks ?? []).every((c) => c.status === "passing")) allReady = false;
    }
    return allReady ? "ready" : "pending";
  },

  async rollback(ctx, to) {
    const ref = decodeFlyDeployment(to.id);
    // The earlier deployment's env is not kept (it may hold secrets); the current stage env is applied.
    const s = settingsOf(ctx);
    return moveAll(new FlyApi(ctx, s), s.app, ref.image, ctx.env);
  },
};
