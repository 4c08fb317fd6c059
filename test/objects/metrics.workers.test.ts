/**
 * The Metrics object keeps each series under a storage key of its own (issue 16 item 3): a call
 * writes only the series it changed, a gauge series that empties is deleted, and totals kept the
 * old way (one value holding every series) are moved over on the next start and lose nothing.
 */
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Metrics } from "../../durable-objects/metrics/object.js";
import type { Sample } from "../../server/metrics/registry.js";

const counter = (name: string, value: number, labels: Record<string, string> = {}): Sample => ({ kind: "counter", name, labels, value });

function fresh() {
  return env.METRICS.get(env.METRICS.idFromName(`metrics-test-${crypto.randomUUID()}`)) as unknown as DurableObjectStub<Metrics>;
}

/** What a call wrote: the keys of every put and delete it made. */
async function writesOf(stub: DurableObjectStub<Metrics>, call: (instance: Metrics) => Promise<void>) {
  return runInDurableObject(stub, async (instance: Metrics, state) => {
    const put: string[] = [];
    const deleted: string[] = [];
    const storage = state.storage as unknown as { put: (...a: unknown[]) => Promise<void>; delete: (...a: unknown[]) => Promise<unknown> };
    const [originalPut, originalDelete] = [storage.put, storage.delete];
    storage.put = (...args) => {
      put.push(...(typeof args[0] === "string" ? [args[0]] : Object.keys(args[0] as object)));
      return originalPut.apply(state.storage, args);
    };
    storage.delete = (...args) => {
      deleted.push(...(Array.isArray(args[0]) ? (args[0] as string[]) : [args[0] as string]));
      return originalDelete.apply(state.storage, args);
    };
    try {
      await call(instance);
    } finally {
      storage.put = originalPut;
      storage.delete = originalDelete;
    }
    return { put, deleted };
  });
}

describe("the Metrics object's storage", () => {
  it("writes only the series a call changed", async () => {
    const stub = fresh();
    await stub.record([counter("sparki_builds_finished_total", 1, { status: "succeeded" }), counter("sparki_builds_finished_total", 1, { status: "failed" })]);
    const writes = await writesOf(stub, (m) => m.record([counter("sparki_builds_finished_total", 2, { status: "failed" })]));
    expect(writes).toEqual({ put: ["series:sparki_builds_finished_total{status=failed}"], deleted: [] });
    await evictDurableObject(stub);
    const text = await stub.render();
    expect(text).toContain('sparki_builds_finished_total{status="failed"} 3');
    expect(text).toContain('sparki_builds_finished_total{status="succeeded"} 1');
  });

  it("deletes a gauge series that emptied, and keeps it gone after a restart", async () => {
    const stub = fresh();
    await stub.replaceGauges("sparki_jobs_waiting", { pool: "p" }, [
      { labels: { labels: "linux" }, value: 2 },
      { labels: { labels: "gpu" }, value: 1 },
    ]);
    const writes = await writesOf(stub, (m) => m.replaceGauges("sparki_jobs_waiting", { pool: "p" }, [{ labels: { labels: "linux" }, value: 3 }]));
    expect(writes.deleted).toEqual(["series:sparki_jobs_waiting{labels=gpu,pool=p}"]);
    expect(writes.put).toEqual(["series:sparki_jobs_waiting{labels=linux,pool=p}"]);
    await evictDurableObject(stub);
    const text = await stub.render();
    expect(text).toContain('sparki_jobs_waiting{labels="linux",pool="p"} 3');
    expect(text).not.toContain('labels="gpu"');
  });

  it("moves totals kept in the old single value over to their own keys, losing nothing", async () => {
    const stub = fresh();
    await stub.record([counter("sparki_build_success_total", 1, { framework: "vite" })]);
    await runInDurableObject(stub, async (_instance: Metrics, state) => {
      await state.storage.put("samples", [counter("sparki_build_success_total", 4, { framework: "next" })]);
    });
    await evictDurableObject(stub);
    const text = await stub.render();
    expect(text).toContain('sparki_build_success_total{framework="next"} 4');
    expect(text).toContain('sparki_build_success_total{framework="vite"} 1');
    const keys = await runInDurableObject(stub, async (_instance: Metrics, state) => [...(await state.storage.list()).keys()]);
    expect(keys.sort()).toEqual(["series:sparki_build_success_total{framework=next}", "series:sparki_build_success_total{framework=vite}"]);
  });
});
