/**
 * Checkout with the real `git`: an empty repository, the commit fetched alone (`--depth 1`)
 * when the server allows fetching a commit by id, else the branch and then everything, and a
 * detached checkout verified against the requested id. Works for https, ssh, file:// and
 * local paths, because git itself handles each transport. A tag build (`repo.tag`) fetches
 * `refs/tags/<tag>` where a branch build fetches its branch, and is checked against the tag.
 */
import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { BranchName } from "../core/contracts/common.ts";
import type { CloneCredential, Repo } from "../core/contracts/runner.ts";
import { checkGitUrl } from "../core/git-url.ts";
import type { OutputSink } from "./logs.ts";

/** The checkout failed; `exitCode` is git's. */
export class CheckoutError extends Error {
  override readonly name = "CheckoutError";
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface CheckoutOptions {
  signal: AbortSignal;
  output: OutputSink;
  /** Base environment (the runner's); git-specific safety settings are added. */
  env?: NodeJS.ProcessEnv;
  /**
   * Refuse a requested commit that is not on the requested branch. The branch decides where a
   * build may deploy, so a commit from elsewhere must not borrow a protected branch's name. For a
   * tag build: refuse a commit the tag does not point at (an annotated tag peeled).
   */
  requireOnBranch?: boolean;
  /**
   * Basic credentials for `repo.url` (a job's clone token). Given to git as an
   * `http.<url>.extraHeader` through GIT_CONFIG_COUNT/KEY/VALUE in the environment of its
   * processes: not on the command line (visible to every user in /proc), not in .git/config, not
   * in a file, and only ever sent to that URL (git matches scheme, host, port and path prefix).
   */
  credential?: CloneCredential;
}

function gitEnv(base: NodeJS.ProcessEnv, auth: { url: string; credential: CloneCredential } | null = null): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...base,
    // A repository needing credentials must fail, not wait for a password nobody will type.
    GIT_TERMINAL_PROMPT: "0",
    GIT_SSH_COMMAND: base.GIT_SSH_COMMAND ?? "ssh -o BatchMode=yes",
    GIT_ADVICE: "0",
  };
  if (auth) {
    // After any entries the runner's own environment already sets this way.
    const n = Number.parseInt(base.GIT_CONFIG_COUNT ?? "0", 10) || 0;
    const basic = Buffer.from(`${auth.credential.username}:${auth.credential.password}`).toString("base64");
    env.GIT_CONFIG_COUNT = String(n + 1);
    env[`GIT_CONFIG_KEY_${n}`] = `http.${auth.url}.extraHeader`;
    env[`GIT_CONFIG_VALUE_${n}`] = `Authorization: Basic ${basic}`;
  }
  return env;
}

/** The credential's scope: the repository URL, for http(s) remotes only. */
function authFor(repo: Repo, opts: CheckoutOptions): { url: string; credential: CloneCredential } | null {
  if (!opts.credential || !/^https?:\/\//i.test(repo.url)) return null;
  return { url: repo.url, credential: opts.credential };
}

function git(args: string[], cwd: string, opts: CheckoutOptions, quietFailure = false, auth: ReturnType<typeof authFor> = null): Promise<number> {
  if (!quietFailure) opts.output.note(`$ git ${args.join(" ")}`);
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, { cwd, env: gitEnv(opts.env ?? process.env, auth), stdio: ["ignore", "pipe", "pipe"], signal: opts.signal });
    const forward = (chunk: Buffer) => {
      if (!quietFailure) opts.output.write(chunk);
    };
    child.stdout.on("data", forward);
    child.stderr.on("data", forward);
    child.once("error", (err) => reject(opts.signal.aborted ? opts.signal.reason : new CheckoutError(`cannot run git: ${err.message}`, 127)));
    child.once("close", (code) => {
      if (!quietFailure) opts.output.end();
      resolve(code ?? 128);
    });
  });
}

/**
 * Clones `repo.url` at `repo.commitSha` into `dir` (created if missing, expected empty), or at
 * the head of `repo.branch` when no commit is given. Returns the commit checked out.
 */
export async function checkout(repo: Repo, dir: string, opts: CheckoutOptions): Promise<string> {
  checkRepo(repo);
  await mkdir(dir, { recursive: true });
  await must(["init", "--quiet"], dir, opts);
  await must(["remote", "add", "origin", repo.url], dir, opts);
  const commit = await fetchCommit(repo, dir, opts);
  await must(["checkout", "--quiet", "--force", "--detach", commit], dir, opts);
  return commit;
}

/** Checks what goes into git's arguments; returns the tag, if any. */
export function checkRepo(repo: Repo): string | undefined {
  const url = checkGitUrl(repo.url);
  if (!url.ok) throw new CheckoutError(`repository URL ${url.reason}`, 128);
  // The contract checked it already; checked again here since it goes into git's arguments.
  const tag = repo.tag;
  if (tag !== undefined && !BranchName.safeParse(tag).success) throw new CheckoutError("the tag's name is not a valid git ref name", 128);
  return tag;
}

/** Runs git in `cwd` and throws a {@link CheckoutError} unless it exits 0. */
export async function must(args: string[], cwd: string, opts: CheckoutOptions): Promise<void> {
  const code = await git(args, cwd, opts);
  if (code !== 0) throw new CheckoutError(`git ${args[0]} failed with exit code ${code}`, code);
}

/** Whether the repository in `cwd` (bare or not) has the commit `sha`. */
export async function hasCommit(sha: string, cwd: string, opts: CheckoutOptions): Promise<boolean> {
  return (await git(["cat-file", "-e", `${sha}^{commit}`], cwd, opts, true)) === 0;
}

/**
 * Fetches the build's commit from `origin` into the repository in `gitDir` (a checkout or a bare
 * mirror whose `origin` is `repo.url`), checks it against the branch or tag when asked, and
 * returns its id. `shallow`: the commit alone (a one-off checkout); else with its history, so that
 * the next fetch into the same repository brings only new objects (git negotiates with what it
 * has, which a shallow repository cannot do: a depth-1 fetch sends the whole tree again).
 */
export async function fetchCommit(repo: Repo, gitDir: string, opts: CheckoutOptions, shallow = true): Promise<string> {
  const depth = shallow ? ["--depth", "1"] : [];
  const tag = checkRepo(repo);
  // Only the fetches carry the credential; it is in no file when they end.
  const auth = authFor(repo, opts);
  // Always a full refs/... refspec, so no name can be read as an option.
  const namedRef = tag !== undefined ? `+refs/tags/${tag}:refs/tags/${tag}` : `+refs/heads/${repo.branch}:refs/remotes/origin/${repo.branch}`;
  if (repo.commitSha === null) {
    const code = await git(["fetch", "--quiet", "--no-tags", ...depth, "origin", namedRef], gitDir, opts, false, auth);
    if (code !== 0) throw new CheckoutError(`git fetch failed with exit code ${code}`, code);
    return revParse(tag !== undefined ? `refs/tags/${tag}^{commit}` : `refs/remotes/origin/${repo.branch}`, gitDir, opts);
  }
  // Servers that refuse a fetch by commit id (older git servers without
  // allowReachableSHA1InWant) fall back to the branch, then to every branch.
  // Unshallow (a mirror), the commit gets a ref of its own: kept from gc, and a "have" in the next
  // negotiation (git offers only refs; without one the next fetch sends this history again).
  const attempts: string[][] = [
    ["fetch", "--quiet", "--no-tags", ...depth, "origin", shallow ? repo.commitSha : `+${repo.commitSha}:refs/sparki/seen/${repo.commitSha}`],
    ["fetch", "--quiet", "--no-tags", "origin", namedRef],
    ["fetch", "--quiet", "--no-tags", "origin", tag !== undefined ? "+refs/tags/*:refs/tags/*" : "+refs/heads/*:refs/remotes/origin/*"],
  ];
  let fetched = false;
  let lastCode = 0;
  for (const args of attempts) {
    lastCode = await git(args, gitDir, opts, false, auth);
    if (lastCode === 0 && (await hasCommit(repo.commitSha, gitDir, opts))) {
      fetched = true;
      break;
    }
  }
  if (!fetched) throw new CheckoutError(`commit ${repo.commitSha} could not be fetched from ${repo.url}`, lastCode || 128);
  if (opts.requireOnBranch && tag !== undefined) await mustBeTagged(repo.commitSha, tag, gitDir, opts, auth);
  else if (opts.requireOnBranch) await mustBeOnBranch(repo.commitSha, repo.branch, gitDir, opts, auth);
  return repo.commitSha;
}

/** Fails unless `sha` is the head of `branch` or one of its ancestors (the branch's history is fetched). */
async function mustBeOnBranch(sha: string, branch: string, dir: string, opts: CheckoutOptions, auth: ReturnType<typeof authFor>): Promise<void> {
  const ref = `refs/remotes/origin/${branch}`;
  const fetchCode = await git(["fetch", "--quiet", "--no-tags", "origin", `+refs/heads/${branch}:${ref}`], dir, opts, false, auth);
  if (fetchCode !== 0) throw new CheckoutError(`branch ${branch} could not be fetched to check that commit ${sha} is on it`, fetchCode);
  const code = await git(["merge-base", "--is-ancestor", sha, ref], dir, opts, true);
  if (code !== 0) throw new CheckoutError(`commit ${sha} is not on branch ${branch}; a build may only name the branch its commit belongs to`, 1);
}

/** Fails unless the remote's `tag`, peeled (an annotated tag points at a tag object), is `sha`. */
async function mustBeTagged(sha: string, tag: string, dir: string, opts: CheckoutOptions, auth: ReturnType<typeof authFor>): Promise<void> {
  const ref = `refs/tags/${tag}`;
  const fetchCode = await git(["fetch", "--quiet", "--no-tags", "--depth", "1", "origin", `+${ref}:${ref}`], dir, opts, false, auth);
  if (fetchCode !== 0) throw new CheckoutError(`tag ${tag} could not be fetched to check that it points at commit ${sha}`, fetchCode);
  const tagged = await revParse(`${ref}^{commit}`, dir, opts);
  if (tagged !== sha) throw new CheckoutError(`tag ${tag} points at commit ${tagged}, not at ${sha}; a tag build may only build the tag's commit`, 1);
}

/** What `rev` names in `dir`, as a full object id. */
export function revParse(rev: string, dir: string, opts: CheckoutOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", ["rev-parse", "--verify", "--quiet", rev], {
      cwd: dir,
      env: gitEnv(opts.env ?? process.env),
      stdio: ["ignore", "pipe", "ignore"],
      signal: opts.signal,
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.once("error", (err) => reject(new CheckoutError(`cannot run git: ${err.message}`, 127)));
    child.once("close", (code) => (code === 0 ? resolve(out.trim()) : reject(new CheckoutError(`git rev-parse failed with exit code ${code}`, code ?? 128))));
  });
}
