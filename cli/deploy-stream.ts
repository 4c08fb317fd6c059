import { DeploymentSocketMessage, type Deployment, type DeploymentEventView } from "../core/contracts/deployments.ts";
import { DEPLOYMENT_FINISHED } from "../core/deploy/machine.ts";
import { EXIT, type ApiClient } from "./api.ts";
import { deployment } from "./endpoints.ts";
import { UserError } from "../node/user-error.ts";

export interface FollowDeploymentOptions {
  onEvent(event: DeploymentEventView, after: Deployment): void;
  maxAttempts?: number;
  backoff?: { baseMs: number; capMs: number };
}

/**
 * Follows a deployment until it finishes and returns it. Each event is reported once (by seq):
 * the events so far come from GET /v1/deployments/:id, later ones from the events WebSocket; after
 * a connection opens (the first time and after every reconnect) a GET fills in anything that
 * happened while no socket was open.
 */
export async function followDeployment(api: ApiClient, id: string, options: FollowDeploymentOptions): Promise<Deployment> {
  let lastSeq = 0;
  const report = (d: Deployment, events: DeploymentEventView[]) => {
    for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
      if (e.seq <= lastSeq) continue;
      lastSeq = e.seq;
      options.onEvent(e, d);
    }
  };
  const catchUp = async () => {
    const d = await deployment(api, id);
    report(d, d.events);
    return d;
  };
  let current = await catchUp();
  if (DEPLOYMENT_FINISHED.has(current.status)) return current;
  const { baseMs, capMs } = options.backoff ?? { baseMs: 250, capMs: 5000 };
  let failures = 0;
  const { default: WebSocket } = await import("ws");
  for (;;) {
    const outcome = await new Promise<{ done?: Deployment; error?: Error; reason?: string; progressed: boolean }>((resolve) => {
      let progressed = false;
      const ws = new WebSocket(api.socketUrl(`/v1/deployments/${encodeURIComponent(id)}/events`), {
        headers: { authorization: `Bearer ${api.requireToken()}` },
      });
      const end = (r: { done?: Deployment; error?: Error; reason?: string; progressed: boolean }) => {
        ws.removeAllListeners();
        ws.on("error", () => undefined);
        ws.terminate();
        resolve(r);
      };
      ws.on("unexpected-response", (_req, res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        if (code === 401) end({ error: new UserError("the server refused the token (401); run 'sparki login'", EXIT.auth), progressed });
        else if (code === 404) end({ error: new UserError(`no deployment ${id}`, EXIT.notFound), progressed });
        else end({ reason: `the server answered ${code}`, progressed });
      });
      ws.on("open", () => {
        catchUp()
          .then((d) => {
            current = d;
            if (DEPLOYMENT_FINISHED.has(d.status)) end({ done: d, progressed: true });
          })
          .catch(() => undefined);
      });
      ws.on("message", (data) => {
        let raw: unknown;
        try {
          raw = JSON.parse(String(data));
        } catch {
          return;
        }
        const parsed = DeploymentSocketMessage.safeParse(raw);
        if (!parsed.success) return;
        progressed = true;
        current = parsed.data.deployment;
        report(parsed.data.deployment, [parsed.data.event]);
        if (DEPLOYMENT_FINISHED.has(current.status)) end({ done: current, progressed });
      });
      ws.on("error", (err) => end({ reason: err.message, progressed }));
      ws.on("close", (code) => end({ reason: `connection closed (${code})`, progressed }));
    });
    if (outcome.error) throw outcome.error;
    if (outcome.done) return outcome.done;
    failures = outcome.progressed ? 1 : failures + 1;
    if (failures > (options.maxAttempts ?? 8))
      throw new UserError(`lost the deployment's event stream (${outcome.reason}); 'sparki deployments show ${id}' shows where it is`);
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(capMs, baseMs * 2 ** (failures - 1))));
  }
}
