/**
 * Notifications end to end on the local stack with a real runner: channels added with the CLI
 * (a Slack incoming webhook on the Slack fake, a signed webhook on a receiver), a build that
 * fails and then one that passes on the same branch: Slack gets "failed" and then "is fixed"
 * linking to the builds' pages, the webhook receiver gets both signed with the key the CLI showed
 * once, and `sparki notifications deliveries` lists them delivered.
 */
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeSlack } from "../fakes/slack.js";
import { verifySignature, WebhookReceiver } from "../fakes/webhook-receiver.js";
import { commitAll, E2E, oneStepYml, run, until } from "./support.js";
import { sparkiBin } from "../../dev/bins.ts";

const e2e = new E2E();
const slack = new FakeSlack();
const receiver = new WebhookReceiver();
const cliBin = sparkiBin;
let repo: string;
let projectId: string;
let signingKey: string;

const sparki = async (...args: string[]) =>
  (
    await run(process.execPath, [cliBin, ...args], {
      env: { ...process.env, XDG_CONFIG_HOME: join(e2e.work, "cli-config"), SPARKI_URL: e2e.stack.apiUrl, SPARKI_TOKEN: e2e.token },
    })
  ).stdout;

beforeAll(async () => {
  await Promise.all([e2e.start(), slack.start(), receiver.start()]);
  await e2e.runner("notify");
  repo = await e2e.gitRepo("notified", {
    "package.json": JSON.stringify({ name: "notified", version: "1.0.0" }),
    "sparki.yml": oneStepYml(`node -e "process.exit(3)"`),
  });
  projectId = (await e2e.project("notified", repo)).id;
  await sparki("notifications", "add", "--project", projectId, "--slack", slack.addWebhook("#builds"), "--name", "builds");
  const added = await sparki("notifications", "add", "--project", projectId, "--webhook", `${receiver.url}/sparki`, "--events", "build.failed,build.fixed");
  signingKey = /Signing key \(shown only now\): (snk_\S+)/.exec(added)?.[1] ?? "";
}, 180_000);

afterAll(async () => {
  await e2e.close();
  await Promise.all([slack.close(), receiver.close()]);
}, 60_000);

describe("notifications on the local stack", () => {
  it("tells Slack and the webhook that a build failed, and then that the next one fixed it", async () => {
    expect(signingKey).toMatch(/^snk_/);
    const red = await e2e.trigger(projectId);
    expect((await e2e.waitForEnd(red)).status, e2e.diagnostics()).toBe("failed");
    await until("Slack's failure message", () => slack.messages.length >= 1, 30_000);
    expect(slack.messages[0]).toMatchObject({ channel: "#builds", text: "notified: build #1 of main failed" });
    expect(JSON.stringify(slack.messages[0]?.blocks)).toContain(`${e2e.stack.apiUrl}/builds/${red}`);

    writeFileSync(join(repo, "sparki.yml"), oneStepYml(`node -e "console.log('green again')"`));
    await commitAll(repo);
    const green = await e2e.trigger(projectId);
    expect((await e2e.waitForEnd(green)).status, e2e.diagnostics()).toBe("succeeded");
    await until("Slack's fixed message", () => slack.messages.length >= 2, 30_000);
    expect(slack.messages[1]?.text).toBe("notified: build #2 of main is fixed");

    await until("both webhook deliveries", () => receiver.received.length >= 2, 30_000);
    const events = receiver.received.map((r) => {
      expect(verifySignature(signingKey, r.body, r.headers["x-sparki-signature-256"] as string)).toBe(true);
      return [r.headers["x-sparki-event"], JSON.parse(r.body).build.id];
    });
    expect(events).toEqual([
      ["build.failed", red],
      ["build.fixed", green],
    ]);

    const log = await sparki("notifications", "deliveries", "builds", "--project", projectId, "--json");
    expect((JSON.parse(log).items as { event: string; status: string }[]).map((d) => [d.event, d.status])).toEqual([
      ["build.fixed", "delivered"],
      ["build.failed", "delivered"],
    ]);
  });
});
