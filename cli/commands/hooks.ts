import { execFile } from "node:child_process";
import { chmod, readFile, rename, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { promisify } from "node:util";
import type { Command } from "commander";
import { PushHookCreated, PushHookInfo } from "../../core/contracts/hooks.ts";
import { UserError } from "../../node/user-error.ts";
import type { ApiClient } from "../api.ts";
import { act } from "../context.ts";
import { resolveProject } from "../endpoints.ts";
import { hookMarker, postReceiveScript, secretFileName } from "../hooks/post-receive.ts";
import { ago, printFields, printJson, printTable } from "../output.ts";

const enc = encodeURIComponent;
const createHook = (api: ApiClient, projectId: string) => api.call("POST", `/v1/projects/${enc(projectId)}/hooks`, PushHookCreated);
const hookInfo = (api: ApiClient, projectId: string) => api.call("GET", `/v1/projects/${enc(projectId)}/hooks`, PushHookInfo);

/** The hooks folder of a bare repository (core.hooksPath honoured), or a one-line error. */
async function bareHooksDir(repo: string): Promise<string> {
  const git = (...args: string[]) => promisify(execFile)("git", ["-C", repo, ...args], { encoding: "utf8" }).then((r) => r.stdout.trim());
  let bare: string;
  try {
    bare = await git("rev-parse", "--is-bare-repository");
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw new UserError(missing ? "git is not installed (or not on PATH)" : `${repo} is not a git repository`);
  }
  if (bare !== "true") throw new UserError(`${repo} is not a bare repository; install the hook where you push to (made with git init --bare)`);
  return resolve(repo, await git("rev-parse", "--git-path", "hooks"));
}

/** Writes `text` to `path` with `mode` through a temporary file, so a reader never sees half of it. */
async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode, flag: "wx" });
  await chmod(temporary, mode);
  await rename(temporary, path);
}

export function registerHooks(program: Command): void {
  const cmd = program.command("hooks").description("a project's push hook: any git server starts builds on push");
  cmd
    .command("show", { isDefault: true })
    .description("whether the project has a push hook, and its last deliveries")
    .option("--project <project>", "project id or name")
    .action(
      act(async ({ api, settings, json, opts }) => {
        const info = await hookInfo(api, await resolveProject(api, opts.project as string | undefined, settings.workspaceId));
        if (json) return printJson(info);
        printFields([
          ["url", info.url],
          ["hook", info.exists ? `yes, key made ${ago(info.updatedAt)}` : "none (sparki hooks create)"],
        ]);
        printTable(
          ["delivery", "outcome", "build", "received"],
          info.deliveries.map((d) => [d.delivery, d.outcome === "ignored" ? `ignored: ${d.detail ?? ""}` : d.outcome, d.buildId, ago(d.receivedAt)]),
          "no deliveries yet",
        );
      }),
    );
  cmd
    .command("create")
    .description("create or rotate the project's push hook key; it is printed once")
    .option("--project <project>", "project id or name")
    .action(
      act(async ({ api, settings, json, opts }) => {
        const hook = await createHook(api, await resolveProject(api, opts.project as string | undefined, settings.workspaceId));
        if (json) return printJson(hook);
        process.stdout.write(
          `url     ${hook.url}\nsecret  ${hook.secret}\n\nKeep the secret now: it is not shown again. Sign each call with it:\nX-Sparki-Signature-256: sha256=<hex HMAC-SHA256 of the body>, and send a fresh X-Sparki-Delivery id.\n`,
        );
      }),
    );
  cmd
    .command("install")
    .description("write a post-receive hook into a bare repository so every push starts a build (makes a new key)")
    .argument("<repository>", "path of the bare repository (git init --bare)")
    .option("--project <project>", "project id or name")
    .action(
      act(async ({ api, settings, json, opts }, repository: string) => {
        const projectId = await resolveProject(api, opts.project as string | undefined, settings.workspaceId);
        const hooks = await bareHooksDir(repository);
        const hookPath = resolve(hooks, "post-receive");
        const existing = await readFile(hookPath, "utf8").catch(() => null);
        if (existing !== null && !existing.includes(hookMarker)) {
          throw new UserError(`${hookPath} exists and is not Sparki's; move it away (or call Sparki from it) and install again`);
        }
        const hook = await createHook(api, projectId);
        const secretFile = resolve(hooks, secretFileName);
        // The key first, owner-only, so the hook never runs without it.
        await writeAtomically(secretFile, `${hook.secret}\n`, 0o600);
        await writeAtomically(hookPath, postReceiveScript({ url: hook.url, node: process.execPath }), 0o755);
        if (json) return printJson({ hook: hookPath, secretFile, url: hook.url });
        process.stdout.write(`Installed ${hookPath}\nIts key is in ${secretFile} (mode 600). Every push to ${repository} now starts a build.\n`);
        if (existing !== null) process.stdout.write("The key was rotated: hooks installed earlier with the old key stop working.\n");
      }),
    );
  cmd
    .command("rm")
    .alias("remove")
    .description("remove the project's push hook; calls signed with its key are refused")
    .option("--project <project>", "project id or name")
    .action(
      act(async ({ api, settings, json, opts }) => {
        const projectId = await resolveProject(api, opts.project as string | undefined, settings.workspaceId);
        await api.send("DELETE", `/v1/projects/${enc(projectId)}/hooks`);
        if (json) return printJson({ deleted: true });
        process.stdout.write("Push hook removed\n");
      }),
    );
}
