/** Shell completion scripts and the usage-error exit code, from the real CLI (no server needed). */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("./bin.js", import.meta.url));
const run = promisify(execFile);

function sparki(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, SPARKI_TOKEN: "", SPARKI_URL: "" }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe("sparki completion", () => {
  it("bash: valid syntax, and completes commands, subcommands and their options", async () => {
    const { code, stdout } = await sparki(["completion", "bash"]);
    expect(code).toBe(0);
    await run("bash", ["-n", "-c", stdout]);
    // Ask the function itself, as bash would on <TAB>.
    const complete = async (line: string) => {
      const words = line.split(" ");
      const script = `${stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _sparki; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return (await run("bash", ["-c", script])).stdout.trim().split("\n");
    };
    expect(await complete("sparki bu")).toEqual(["builds"]);
    expect(await complete("sparki builds ")).toEqual(expect.arrayContaining(["list", "trigger", "show", "cancel", "retry"]));
    expect(await complete("sparki builds trigger --f")).toEqual(["--follow"]);
  });

  it("zsh and fish scripts name every command", async () => {
    const zsh = await sparki(["completion", "zsh"]);
    expect(zsh.stdout).toContain("bashcompinit");
    const fish = await sparki(["completion", "fish"]);
    for (const cmd of ["login", "builds", "logs", "deployments", "tui"]) expect(fish.stdout).toContain(`-a ${cmd} `);
    expect(fish.stdout).toContain("__fish_seen_subcommand_from builds; and __fish_seen_subcommand_from trigger' -l follow -s f");
  });

  it("usage errors exit 2, --help exits 0", async () => {
    expect((await sparki(["completion", "tcsh"])).code).toBe(2);
    expect((await sparki(["builds", "show"])).code).toBe(2);
    expect((await sparki(["builds", "list", "--nope"])).code).toBe(2);
    const help = await sparki(["deployments", "approve", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: sparki deployments approve [options] <deployment>");
  });
});
