/** Route sweep, part 1: hostile path parameters and query values on every documented route (sweep.ts). */
import { beforeAll, describe, expect, it } from "vitest";
import { hostileQueryValues, hostileSegments } from "./hostile.js";
import { fill, setUpSweep, sweep, sweepTimeout, type Probe, type SweepContext } from "./sweep.js";

let ctx: SweepContext;
beforeAll(async () => {
  ctx = await setUpSweep();
});

describe("route sweep: no path or query value reaches a 5xx", () => {
  it("found the OpenAPI routes", () => {
    expect(ctx.operations.length).toBeGreaterThan(30);
  });

  it(
    "hostile path parameters on every documented route",
    async () => {
      const probes: Probe[] = [];
      for (const op of ctx.operations.filter((o) => o.path.includes("{"))) {
        // With the real resource in its place, a route's other parameters are reached too.
        const variants = (op.path.match(/\{/g) ?? []).length > 1 ? [true, false] : [false];
        for (const segment of hostileSegments) {
          for (const real of variants) {
            const path = fill(op.path, segment, real);
            probes.push({ label: `${op.method} ${path}`, method: op.method, path, body: op.requestBody ? "{}" : undefined });
          }
        }
      }
      await sweep(probes);
    },
    sweepTimeout,
  );

  it(
    "hostile query values on every documented query parameter, and an unknown filter beside them",
    async () => {
      const probes: Probe[] = [];
      for (const op of ctx.operations) {
        const names = (op.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name);
        if (names.length === 0) continue;
        for (const name of [...names, "filter"]) {
          for (const value of hostileQueryValues) {
            const path = `${fill(op.path, crypto.randomUUID(), true)}?${name}=${value}`;
            probes.push({ label: `${op.method} ${path}`, method: op.method, path, body: op.requestBody ? "{}" : undefined });
          }
        }
      }
      await sweep(probes);
    },
    sweepTimeout,
  );
});
