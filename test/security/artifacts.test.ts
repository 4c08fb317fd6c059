/**
 * Untrusted artifacts on the real local stack (wrangler dev, a real runner building real git
 * repositories), tried as an attacker would:
 * - an inflation bomb: a build whose output is 540 MiB of zeros (six sparse 90 MiB files), packed
 *   by the runner into a ~540 KB .tar.gz and pushed to sparki-static. Publishing is refused at the
 *   500 MiB cap with the reason in the deployment's events, nothing is written or served, and the workerd
 *   process's peak memory (VmHWM, reset before the build) grows by far less than the archive
 *   inflates to: the old code held the whole inflated archive in memory.
 * - a site whose output holds a symlink to a host file: refused, nothing served.
 * - a 200 MiB build artifact: uploaded (streamed past the API's 1 MiB body limit) and read back
 *   byte for byte, hashed as it streams here too.
 * Hand-made hostile archives (climbing paths, hard links, devices) through the orchestrator are in
 * artifacts.workers.test.ts.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchSite } from "../../dev/sites-proxy.js";
import { siteUrl } from "../../server/sites/hosts.js";
import { E2E, groupMembers, oneStepYml, until } from "../e2e/support.js";

const e2e = new E2E();
const MiB = 1024 * 1024;

beforeAll(async () => {
  await e2e.start();
  await e2e.runner("builder");
}, 180_000);
afterAll(() => e2e.close(), 60_000);

const deploysToProduction = `deployments:
  - stage: production
    platform: sparki-static
`;

/** Builds a repository whose sparki.yml runs `build` with output `outputDir`; returns the project and its green build. */
async function built(name: string, build: string, outputDir: string, extra = ""): Promise<{ projectId: string; buildId: string }> {
  const repo = await e2e.gitRepo(name, {
    "package.json": JSON.stringify({ name, version: "1.0.0", private: true }),
    "sparki.yml": oneStepYml(build, outputDir) + extra,
  });
  const projectId = (await e2e.project(name, repo)).id;
  const buildId = await e2e.trigger(projectId);
  const done = await e2e.waitForEnd(buildId, 300_000);
  if (done.status !== "succeeded") {
    const log = await e2e.bytes(`/v1/builds/${buildId}/logs.txt`);
    expect.fail(`build ${name} ${done.status}:\n${log.body.toString().slice(-3000)}\n${e2e.diagnostics()}`);
  }
  return { projectId, buildId };
}

/** The deployment the green build started by itself, once it has ended. */
async function pushedDeployment(projectId: string, buildId: string): Promise<any> {
  return until(
    `the deployment of build ${buildId} to end`,
    async () => {
      const d = (await e2e.api("GET", `/v1/projects/${projectId}/deployments`)).body.items.find((x: any) => x.buildId === buildId);
      if (!d || !["failed", "rolled_back", "succeeded"].includes(d.status)) return undefined;
      return (await e2e.api("GET", `/v1/deployments/${d.id}`)).body;
    },
    240_000,
    { intervalMs: 500, diagnostics: () => e2e.diagnostics() },
  );
}

/** The workerd processes of this test's stack: in the process group of its wrangler (started detached). */
function workerdPids(): number[] {
  const group = e2e.stack.wranglerGroup();
  if (group === undefined) return [];
  return groupMembers(group).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "workerd";
    } catch {
      return false;
    }
  });
}

/** A /proc/PID/status figure in bytes (VmRSS, VmHWM). */
const memory = (pid: number, field: "VmRSS" | "VmHWM") =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) * 1024;

const served = async (projectId: string) => (await fetchSite(siteUrl(e2e.stack.sitesOrigin, { projectId, stage: "production" }) ?? "")).status;

describe("untrusted artifacts on the local stack", () => {
  it("refuses a 540 MiB inflation bomb at the 500 MiB cap, publishes nothing, and workerd's memory stays bounded", { timeout: 600_000 }, async () => {
    const pids = workerdPids();
    expect(pids.length, "the stack's workerd process").toBeGreaterThan(0);
    const before = new Map(pids.map((pid) => [pid, memory(pid, "VmRSS")]));
    // Resets the peak-RSS counter (VmHWM) to the current RSS (proc(5), clear_refs "5").
    for (const pid of pids) writeFileSync(`/proc/${pid}/clear_refs`, "5");

    const parts = Array.from({ length: 6 }, (_, i) => `truncate -s 90M dist/part-${i}.bin`).join(" && ");
    const { projectId, buildId } = await built("bomb", `mkdir -p dist && echo '<h1>bomb</h1>' > dist/index.html && ${parts}`, "dist", deploysToProduction);
    const artifacts = (await e2e.api("GET", `/v1/builds/${buildId}/artifacts`)).body.items;
    // The runner's .tar.gz of 540 MiB of zeros.
    expect(artifacts[0].size).toBeLessThan(2 * MiB);

    const d = await pushedDeployment(projectId, buildId);
    expect(d.status).not.toBe("succeeded");
    expect(d.events.map((e: any) => e.message).join("\n")).toContain(`the site was not published: the archive inflates to more than ${500 * MiB} bytes`);
    expect(await served(projectId)).toBe(404);

    const grew = Math.max(...pids.map((pid) => memory(pid, "VmHWM") - (before.get(pid) ?? 0)));
    // 500 MiB inflated, and the peak grew by less than half of it: with the archive inflated
    // whole in memory (the code before) this grew by 1.2 GB. The same process also runs the
    // build, its log, and wrangler's local R2 (which the refusal leaves untouched).
    expect(grew).toBeLessThan(256 * MiB);
  });

  it("refuses a site whose output holds a symlink to a host file", { timeout: 600_000 }, async () => {
    const { projectId, buildId } = await built(
      "links",
      "mkdir -p dist && echo '<h1>x</h1>' > dist/index.html && ln -s /etc/passwd dist/passwd",
      "dist",
      deploysToProduction,
    );
    const d = await pushedDeployment(projectId, buildId);
    expect(d.status).not.toBe("succeeded");
    expect(d.events.map((e: any) => e.message).join("\n")).toMatch(/symbolic link \("\.\/passwd"\)/);
    expect(await served(projectId)).toBe(404);
  });

  it("uploads a 200 MiB artifact and reads it back byte for byte", { timeout: 600_000 }, async () => {
    const size = 200 * MiB;
    const { buildId } = await built("big", `head -c ${size} /dev/zero | tr '\\000' a > big.bin`, "big.bin");
    const items = (await e2e.api("GET", `/v1/builds/${buildId}/artifacts`)).body.items;
    expect(items.map((a: any) => a.size)).toEqual([size]);
    const expected = createHash("sha256");
    const block = Buffer.alloc(MiB, "a");
    for (let i = 0; i < size / MiB; i++) expected.update(block);
    // Streamed and hashed as it comes: the test holds no copy either.
    const res = await fetch(`${e2e.stack.apiUrl}/v1/builds/${buildId}/artifacts/${encodeURIComponent(items[0].name)}`, {
      headers: { authorization: `Bearer ${e2e.token}` },
    });
    expect(res.status).toBe(200);
    const got = createHash("sha256");
    let received = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      got.update(chunk);
      received += chunk.byteLength;
    }
    expect(received).toBe(size);
    expect(got.digest("hex")).toBe(expected.digest("hex"));
  });
});
