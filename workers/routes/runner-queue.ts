/**
 * `GET /v1/workspaces/:id/runner-queue`: the workspace's jobs waiting for a runner, by pool and
 * label set, for autoscalers. Any member may read it (an autoscaler's API token needs no more
 * than viewer). The counts come from the pools' dispatchers, which hold the offers themselves:
 * a job is counted from the moment it can run until a runner claims it.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { RunnerQueue, RunnerQueueQuery } from "../../core/contracts/runner-queue.ts";
import { runnerDispatcher } from "../../server/objects/clients.js";
import { labelsMatch, type QueuedLabels, sharedPool, workspacePool } from "../../server/objects/runner-dispatcher/protocol.js";
import { authorize } from "../services/access.js";
import { workspacePolicy } from "../services/runner-pools.js";
import { authed, json, newRouter, problems } from "./router.js";

export const runnerQueueRoutes = newRouter();

function poolView(queue: QueuedLabels[], runnerLabels: string[] | undefined) {
  return {
    waiting: queue.reduce((n, q) => n + q.jobs, 0),
    ...(runnerLabels ? { matching: queue.filter((q) => labelsMatch(q.labels, runnerLabels)).reduce((n, q) => n + q.jobs, 0) } : {}),
    labelSets: queue.map((q) => ({ labels: q.labels, jobs: q.jobs, oldestQueuedAt: new Date(q.oldestAt).toISOString() })),
  };
}

runnerQueueRoutes.openapi(
  createRoute({
    method: "get",
    path: "/v1/workspaces/{id}/runner-queue",
    tags: ["runners"],
    summary: "Jobs waiting for a runner, per pool and label set (for autoscalers)",
    ...authed,
    request: { params: z.object({ id: z.uuid() }), query: RunnerQueueQuery },
    responses: { 200: { description: "The queue", content: json(RunnerQueue) }, ...problems(400, 401, 404) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { runnerLabels } = c.req.valid("query");
    await authorize(c, id, "workspace:read", { type: "workspace", id });
    // The shared pool holds every workspace's offers: only this one's are read from it. Under
    // `never` its builds still sit there until a shared runner's claim drops them (the policy is
    // applied at claim time): none of them will run there, so none are counted.
    const never = !c.var.config.DEV_TRUST_SHARED_RUNNERS && (await workspacePolicy(await c.var.db(), id)) === "never";
    const [own, shared] = await Promise.all([
      runnerDispatcher(c.env, workspacePool(id)).waitingJobs(),
      never ? Promise.resolve([]) : runnerDispatcher(c.env, sharedPool).waitingJobs(id),
    ]);
    return c.json({ workspaceId: id, pools: { workspace: poolView(own, runnerLabels), shared: poolView(shared, runnerLabels) } }, 200);
  },
);
