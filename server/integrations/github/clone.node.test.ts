/**
 * A private clone with a token minted for one job: real `git clone` over HTTP from the fake's git
 * http-backend, as the runner will do it. The minted clone token works; a wrong token, no token,
 * or a token for another repository does not.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeGitHub } from "../../../test/fakes/github.ts";
import { mintCloneToken } from "./app-auth.ts";

const run = promisify(execFile);
const gh = new FakeGitHub();
let dir: string;
let app: ReturnType<FakeGitHub["addApp"]>;
let inst: ReturnType<FakeGitHub["install"]>;
// Never ask a terminal for credentials; no user or system config.
const env = { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_ASKPASS: "" };
const git = (args: string[], cwd?: string) => run("git", args, { env, ...(cwd ? { cwd } : {}) });

/** A bare repository with one commit holding `content`. */
async function bareRepo(name: string, content: string): Promise<string> {
  const work = join(dir, `${name}-work`);
  await git(["init", "-q", "-b", "main", work]);
  await writeFile(join(work, "README.md"), content);
  await git(["-c", "user.name=t", "-c", "user.email=t@t", "add", "."], work);
  await git(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init"], work);
  const bare = join(dir, `${name}.git`);
  await git(["clone", "-q", "--bare", work, bare]);
  return bare;
}

const cloneUrl = (repo: string, auth?: string) => `${gh.webUrl.replace("://", `://${auth ? `${auth}@` : ""}`)}/${repo}.git`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sparki-gh-clone-"));
  await gh.start();
  app = gh.addApp();
  gh.addRepo("acme/shop", { private: true, gitDir: await bareRepo("shop", "private shop\n") });
  gh.addRepo("acme/blog", { private: true, gitDir: await bareRepo("blog", "private blog\n") });
  gh.addRepo("acme/site", { gitDir: await bareRepo("site", "public site\n") });
  inst = gh.install(app, "acme");
});
afterAll(async () => {
  await gh.close();
  await rm(dir, { recursive: true, force: true });
});

describe("cloning through the fake's git over HTTP", () => {
  it("clones a private repository with a minted clone token", async () => {
    const { token } = await mintCloneToken({ appId: String(app.id), privateKey: app.privateKey }, inst.id, gh.repo("acme/shop").id, { apiUrl: gh.apiUrl });
    const to = join(dir, "shop-clone");
    await git(["clone", "-q", cloneUrl("acme/shop", `x-access-token:${token}`), to]);
    expect(await readFile(join(to, "README.md"), "utf8")).toBe("private shop\n");
  });

  it("refuses a wrong token, no token, and the clone token of another repository", async () => {
    const { token } = await mintCloneToken({ appId: String(app.id), privateKey: app.privateKey }, inst.id, gh.repo("acme/shop").id, { apiUrl: gh.apiUrl });
    await expect(git(["clone", "-q", cloneUrl("acme/shop", "x-access-token:ghs_wrong"), join(dir, "c1")])).rejects.toThrow(/Authentication failed|401/);
    await expect(git(["clone", "-q", cloneUrl("acme/shop"), join(dir, "c2")])).rejects.toThrow(/could not read Username|Authentication failed|401/);
    await expect(git(["clone", "-q", cloneUrl("acme/blog", `x-access-token:${token}`), join(dir, "c3")])).rejects.toThrow(/not found|404/);
  });

  it("clones a public repository without credentials", async () => {
    const to = join(dir, "site-clone");
    await git(["clone", "-q", cloneUrl("acme/site"), to]);
    expect(await readFile(join(to, "README.md"), "utf8")).toBe("public site\n");
  });
});
