/**
 * A runner's new poll replaces its older one still waiting at the dispatcher: the older one is
 * a killed runner's (its request outlived it), and a job handed to it would wait a whole lease
 * (found with the local stack: a restarted runner's first job took 60 s).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { runnerDispatcher } from "../../server/objects/clients.ts";
import { until } from "../until.ts";

describe("a runner polling again", () => {
  it("ends its older poll empty, and the next offer goes to the new one", async () => {
    const dispatcher = runnerDispatcher(env, `workspace:${crypto.randomUUID()}`);
    const runner = { runnerId: crypto.randomUUID(), labels: ["linux"] };
    const older = dispatcher.claim(runner, 5000);
    await until("the first poll to wait", async () => (await dispatcher.stats()).waiting === 1 || undefined);
    let olderEnded = false;
    void older.then(() => (olderEnded = true));
    const newer = dispatcher.claim(runner, 5000);
    await until("the second poll to end the first", () => olderEnded || undefined, 3000);
    expect(await older).toBeNull();
    await dispatcher.offer({ jobId: "job-1", buildId: crypto.randomUUID(), labels: ["linux"] });
    expect(await newer).toMatchObject({ jobId: "job-1" });
  });
});
