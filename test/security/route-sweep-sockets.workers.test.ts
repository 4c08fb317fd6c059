/** Route sweep, part 3: the routes outside the OpenAPI document: sockets, streams, artifacts, sites (sweep.ts). */
import { beforeAll, describe, it } from "vitest";
import { hostileSegments } from "./hostile.js";
import { setUpSweep, sweep, sweepTimeout, type Probe } from "./sweep.js";

beforeAll(async () => {
  await setUpSweep();
});

describe("route sweep: no id reaches a 5xx outside the document", () => {
  it(
    "hostile ids on WebSocket upgrades, log and artifact streams, uploads and sites",
    async () => {
      const upgrade = { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" };
      const probes: Probe[] = [];
      for (const segment of hostileSegments) {
        for (const [method, path, headers] of [
          ["GET", `/v1/builds/${segment}/logs`, upgrade],
          ["GET", `/v1/builds/${crypto.randomUUID()}/logs?from=${segment}`, upgrade],
          ["GET", `/v1/builds/${segment}/logs.txt`, {}],
          ["GET", `/v1/builds/${segment}/artifacts/${segment}`, {}],
          ["GET", `/v1/deployments/${segment}/events`, upgrade],
          ["GET", `/v1/runner/jobs/${segment}/logs`, upgrade],
          ["PUT", `/v1/runner/jobs/${segment}/artifacts/${segment}`, { "content-length": "0" }],
          ["GET", `/sites/${segment}/${segment}/${segment}`, {}],
          ["GET", `/v1/${segment}`, {}],
        ] as const) {
          probes.push({ label: `${method} ${path}`, method, path, body: method === "PUT" ? "" : undefined, headers });
        }
      }
      await sweep(probes);
    },
    sweepTimeout,
  );
});
