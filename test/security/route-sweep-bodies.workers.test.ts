/** Route sweep, part 2: hostile bodies on every documented route that takes one (sweep.ts). */
import { beforeAll, describe, it } from "vitest";
import { bodyVariants, hostileStrings } from "./hostile.js";
import { fill, setUpSweep, sweep, sweepTimeout, type Probe, type SweepContext } from "./sweep.js";

let ctx: SweepContext;

/** Percent-encodes UTF-8 bytes (a lone surrogate becomes U+FFFD, where encodeURIComponent throws). */
function percentEncode(value: string): string {
  return [...new TextEncoder().encode(value)].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");
}
beforeAll(async () => {
  ctx = await setUpSweep();
});

describe("route sweep: no body reaches a 5xx", () => {
  it(
    "hostile bodies on every documented route that takes one",
    async () => {
      const probes: Probe[] = [];
      for (const op of ctx.operations.filter((o) => o.requestBody)) {
        const schema = op.requestBody?.content?.["application/json"]?.schema;
        const path = fill(op.path, crypto.randomUUID(), true);
        for (const body of bodyVariants(schema, ctx.components))
          probes.push({ label: `${op.method} ${path} ${body.slice(0, 80)}`, method: op.method, path, body });
      }
      await sweep(probes);
    },
    sweepTimeout,
  );

  it(
    "control characters, bad refs and YAML bombs in the text fields of a real project's writes",
    async () => {
      const probes: Probe[] = [];
      const project = `/v1/projects/${ctx.projectId}`;
      for (const value of hostileStrings) {
        const label = JSON.stringify(value).slice(0, 40);
        probes.push({
          label: `PATCH project ${label}`,
          method: "PATCH",
          path: project,
          body: JSON.stringify({ name: value, gitUrl: value, defaultBranch: value }),
        });
        probes.push({ label: `POST build ${label}`, method: "POST", path: `${project}/builds`, body: JSON.stringify({ branch: value }) });
        probes.push({ label: `GET builds ${label}`, method: "GET", path: `${project}/builds?branch=${percentEncode(value.slice(0, 1000))}` });
        // sparki.yml is sent as YAML text, not JSON.
        probes.push({ label: `PUT pipeline ${label}`, method: "PUT", path: `${project}/pipeline`, body: value, headers: { "content-type": "text/yaml" } });
        probes.push({ label: `PUT secret ${label}`, method: "PUT", path: `${project}/secrets/X`, body: JSON.stringify({ value }) });
      }
      await sweep(probes);
    },
    sweepTimeout,
  );
});
