/**
 * A private repository cloned with a job's clone token: a real runner claims a job from the fake
 * control plane and checks out from the GitHub fake's git http-backend with the installation
 * token the job carries. The token works, and afterwards it is nowhere: not in .git/config or any
 * file of the checkout, not in the step's environment, not usable by a step's own git, and not
 * in the log even when a step prints it.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeGitHub } from "../test/fakes/github.ts";
import { FakeControlPlane } from "./testing/fake-control-plane.ts";
import { createRepo, GIT_ENV, jobSpec, startAgent, type TestAgent } from "./testing/harness.ts";

const gh = new FakeGitHub();
let fake: FakeControlPlane;
let agent: TestAgent;
let repo: Awaited<ReturnType<typeof createRepo>>;
let bareDir: string;
let url: string;
let token: string;

beforeAll(async () => {
  repo = await createRepo([{ "README.md": "private shop\n" }]);
  bareDir = await mkdtemp(join(tmpdir(), "sparki-private-"));
  const bare = join(bareDir, "shop.git");
  execFileSync("git", ["clone", "-q", "--bare", repo.dir, bare], { env: GIT_ENV });
  await gh.start();
  const app = gh.addApp();
  const shop = gh.addRepo("acme/shop", { private: true, gitDir: bare, refs: { main: repo.shas[0] as string } });
  const inst = gh.install(app, "acme");
  // As the API mints it for a job: that one repository, contents read.
  token = gh.mintToken(inst, { repositoryIds: [shop.id], permissions: { contents: "read" } });
  url = `${gh.webUrl}/acme/shop.git`;
  fake = await FakeControlPlane.start();
  agent = await startAgent(fake);
});

afterAll(async () => {
  await agent.stop();
  await fake.close();
  await gh.close();
  await repo.cleanup();
  await rm(bareDir, { recursive: true, force: true });
});

const basic = () => Buffer.from(`x-access-token:${token}`).toString("base64");

describe("a private clone with the job's clone token", () => {
  it("checks out with the token, which is then in no file, no environment, no log", async () => {
    const probe = [
      "cat README.md",
      "cat .git/config",
      `if grep -rqF -e '${token}' -e '${basic()}' . ; then echo TOKEN-ON-DISK; else echo token-not-on-disk; fi`,
      `if env | grep -qF -e '${token}'; then echo TOKEN-IN-ENV; else echo token-not-in-env; fi`,
      // The step's own git cannot reach the repository: nothing of the credential was kept.
      "GIT_TERMINAL_PROMPT=0 git fetch -q origin 2>/dev/null && echo STEP-FETCHED || echo step-cannot-fetch",
      // A tool that prints the token (e.g. a verbose HTTP trace) is masked.
      `echo "leaked ${token}"`,
    ].join("; ");
    const id = fake.enqueue({
      ...jobSpec(url, repo.shas[0] as string, [{ id: "probe", command: probe }]),
      cloneCredential: { username: "x-access-token", password: token },
    });
    const job = await fake.waitFor(id, (j) => j.result !== null, 30_000);
    const log = fake.logText(id);
    expect(job.result, log).toMatchObject({ status: "succeeded" });
    const out = fake.logText(id, ["probe"]);
    expect(out).toContain("private shop\n");
    expect(out).toContain("token-not-on-disk\n");
    expect(out).toContain("token-not-in-env\n");
    expect(out).toContain("step-cannot-fetch\n");
    expect(out).toMatch(/^leaked \S+$/m);
    expect(out.toLowerCase()).not.toContain("extraheader");
    expect(log).not.toContain(token);
    expect(log).not.toContain(basic());
    expect(gh.requests.some((r) => r.host === "web" && r.path.startsWith("/acme/shop.git/"))).toBe(true);
  });

  it("fails the checkout of the private repository without the token", async () => {
    // Another build: within one build, a later job on this runner reuses the checkout its first job made.
    const id = fake.enqueue({ ...jobSpec(url, repo.shas[0] as string, [{ id: "never", command: "echo never" }]), buildId: "build-without-token" });
    const job = await fake.waitFor(id, (j) => j.result !== null, 30_000);
    expect(job.result).toMatchObject({ status: "failed" });
    expect(job.result?.error).toMatch(/checkout failed/);
    expect(fake.logText(id)).not.toContain("never\n");
  });
});
