/**
 * `sparki_api_active_connections` (a seed metric): a build's live log viewers count while their
 * sockets are open and leave the count when they close. Other files may open sockets at the same
 * time (the Metrics object is one for the whole runtime), so the test looks for its own three
 * viewers in the movement of the gauge rather than at an exact value.
 */
import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { call, createProject, createWorkspace, signup, type TestUser } from "../../workers/testing/api.js";

let owner: TestUser;
let projectId: string;
beforeAll(async () => {
  owner = await signup("connections");
  projectId = (await createProject(owner, (await createWorkspace(owner)).id)).id;
});

async function viewers(): Promise<number> {
  const res = await SELF.fetch("http://sparki.test/metrics", { headers: { authorization: `Bearer ${env.METRICS_TOKEN}` } });
  const line = (await res.text()).split("\n").find((l) => l.startsWith('sparki_api_active_connections{kind="viewer",object="build-coordinator"}'));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("open connections", () => {
  it("counts a build's log viewers while their sockets are open, and not after they close", async () => {
    const build = await call("POST", `/v1/projects/${projectId}/builds`, { token: owner.accessToken, body: { branch: "main" } });
    expect(build.status, build.text).toBe(201);
    const before = await viewers();
    const sockets: WebSocket[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await SELF.fetch(`http://sparki.test/v1/builds/${build.body.id}/logs`, {
        headers: { upgrade: "websocket", authorization: `Bearer ${owner.accessToken}` },
      });
      expect(res.status).toBe(101);
      const ws = res.webSocket as WebSocket;
      ws.accept();
      sockets.push(ws);
    }
    await expect.poll(viewers, { timeout: 5000 }).toBeGreaterThanOrEqual(before + 3);
    const open = await viewers();
    for (const ws of sockets) ws.close(1000, "done");
    await expect.poll(viewers, { timeout: 5000 }).toBeLessThanOrEqual(open - 3);
    const text = await (await SELF.fetch("http://sparki.test/metrics", { headers: { authorization: `Bearer ${env.METRICS_TOKEN}` } })).text();
    expect(text).toContain("# TYPE sparki_api_active_connections gauge");
  });
});
