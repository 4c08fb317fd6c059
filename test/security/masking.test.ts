/**
 * A step that re-encodes a secret before printing it (base64, URL-safe base64 inside a longer
 * string, URL encoding, JSON) must not get it past masking: on the real local stack with a real
 * runner, nothing a viewer can read (the live socket and logs.txt) holds any of those forms.
 */
import { Buffer } from "node:buffer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2E, oneStepYml } from "../e2e/support.js";

const e2e = new E2E();
const secret = 'S3cr3t p@ss/"quoted"+\\tail-0042';

// Printed by the step: each line is one form of the secret, with some text around it.
const leakJs = `const s = process.env.API_KEY;
const b64 = (t, url) => Buffer.from(t).toString(url ? "base64url" : "base64");
console.log("plain " + b64(s));
console.log("with newline " + b64(s + "\\n"));
for (const pre of ["", "a", "ab"]) console.log("offset " + pre.length + " " + b64(pre + "token=" + s + ";", pre.length === 1));
console.log("url " + encodeURIComponent(s));
console.log("form " + new URLSearchParams({ key: s }).toString());
console.log("json " + JSON.stringify({ env: { API_KEY: s } }));
console.log("done");
`;

/** Forms that must not appear in anything a viewer reads. */
const forbidden = [
  secret,
  Buffer.from(secret).toString("base64").slice(0, 40),
  Buffer.from(secret).toString("base64url").slice(0, 40),
  encodeURIComponent(secret),
  JSON.stringify(secret).slice(1, -1),
  new URLSearchParams({ key: secret }).toString().slice(4),
];

beforeAll(async () => {
  await e2e.start();
  // The workspace's own runner: the shared pool takes no build with secrets by default.
  await e2e.runner("masking", { pool: "workspace" });
}, 240_000);

afterAll(async () => {
  await e2e.close();
}, 60_000);

describe("masking encoded forms of a secret", () => {
  it("never shows a viewer the secret in base64, URL-encoded or JSON form", async () => {
    const repo = await e2e.gitRepo("leaky", {
      "package.json": JSON.stringify({ name: "leaky", version: "1.0.0" }),
      "sparki.yml": oneStepYml("node leak.js"),
      "leak.js": leakJs,
    });
    const project = await e2e.project("leaky", repo);
    expect((await e2e.api("PUT", `/v1/projects/${project.id}/secrets/API_KEY`, { value: secret })).status).toBe(201);
    const buildId = await e2e.trigger(project.id);
    const viewer = e2e.viewer(buildId);
    await viewer.opened;
    const build = await e2e.waitForEnd(buildId);
    expect(build.status, e2e.diagnostics()).toBe("succeeded");
    const text = (await e2e.bytes(`/v1/builds/${buildId}/logs.txt`)).body.toString("utf8");
    viewer.close();
    const live = viewer.lines.map((l) => l.text).join("\n");
    expect(text).toContain("done");
    for (const log of [text, live]) {
      const printed = log.split("\n").filter((l) => /^(plain|with newline|offset|url|form|json) /.test(l));
      expect(printed).toHaveLength(8);
      for (const line of printed) expect(line, line).toContain("***");
      for (const form of forbidden) expect(log).not.toContain(form);
    }
  }, 180_000);
});
