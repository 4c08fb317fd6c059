/**
 * The `post-receive` hook `sparki hooks install` writes into a bare repository. POSIX sh starts
 * Node (the one that ran the install, else `node` on PATH), which does the rest in-process: the
 * key is read from a 0600 file beside the hook (never on a command line, where `ps` shows it),
 * each updated branch or tag is one call with a fresh delivery id, signed over the exact bytes
 * sent, and a failed call is retried a few times with the same id (so a retry that did arrive
 * starts nothing twice). The push itself never waits long or fails: refs are already updated.
 * An annotated tag's new value is the tag object: the hook sends the commit it points at (the
 * build is of that commit, and the runner checks the tag against it).
 */

/** Marks a hook as Sparki's, so installing again may replace it (and nothing else). */
export const hookMarker = "# sparki push hook";
export const secretFileName = "sparki-push-hook.secret";

// Runs as `node -e '<this>'`: it must hold no single quote. CommonJS, Node 18+ (fetch).
const program = String.raw`
const fs = require("node:fs");
const crypto = require("node:crypto");
const { execFileSync } = require("node:child_process");
const url = process.env.SPARKI_HOOK_URL;
const secret = fs.readFileSync(process.env.SPARKI_HOOK_SECRET_FILE, "utf8").trim();
const say = (line) => process.stdout.write("sparki: " + line + "\n");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
if (typeof fetch !== "function") {
  say("this hook needs Node.js 18 or newer; no build was started");
  process.exit(1);
}
async function send(ref, before, after) {
  const body = JSON.stringify({ ref, before, after });
  const signature = "sha256=" + crypto.createHmac("sha256", secret).update(body, "utf8").digest("hex");
  const delivery = crypto.randomUUID();
  for (let attempt = 1; ; attempt++) {
    let wait = attempt * 1000;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-sparki-signature-256": signature, "x-sparki-delivery": delivery },
        body,
        signal: AbortSignal.timeout(10000),
      });
      const text = await res.text();
      let answer = {};
      try { answer = JSON.parse(text); } catch {}
      if (res.ok) {
        say(ref + ": " + (answer.outcome === "started" ? "build started (" + answer.buildId + ")" : answer.detail || answer.outcome || "received"));
        return true;
      }
      if (res.status !== 429 && res.status < 500) {
        say(ref + ": refused with " + res.status + (answer.detail ? ": " + answer.detail : ""));
        return false;
      }
      const retryAfter = Number(res.headers.get("retry-after") ?? "NaN");
      if (retryAfter >= 0) wait = retryAfter * 1000;
      say(ref + ": Sparki answered " + res.status + (attempt < 3 ? ", trying again" : ""));
    } catch (err) {
      say(ref + ": " + (err && err.message ? err.message : String(err)) + (attempt < 3 ? ", trying again" : ""));
    }
    if (attempt >= 3) return false;
    await sleep(Math.min(wait, 10000));
  }
}
(async () => {
  let ok = true;
  for (const line of fs.readFileSync(0, "utf8").split("\n")) {
    const [before, after, ref] = line.trim().split(" ");
    if (!ref || !/^refs\/(heads|tags)\//.test(ref)) continue;
    let commit = after;
    if (ref.startsWith("refs/tags/") && /^[0-9a-f]+$/.test(after) && !/^0+$/.test(after)) {
      try {
        commit = execFileSync("git", ["rev-parse", "--verify", "--quiet", after + "^{commit}"], { encoding: "utf8" }).trim() || after;
      } catch {}
    }
    ok = (await send(ref, before, commit)) && ok;
  }
  process.exitCode = ok ? 0 : 1;
})();
`;

/** A value inside sh single quotes. */
function shQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export interface HookSettings {
  /** The push hook URL of the project. */
  url: string;
  /** The Node.js to run (the one that ran the install); `node` on PATH when it is gone. */
  node: string;
}

/** The hook's text. */
export function postReceiveScript(settings: HookSettings): string {
  if (program.includes("'")) throw new Error("the hook's program must not contain a single quote");
  return `#!/bin/sh
${hookMarker} (written by \`sparki hooks install\`; installing again replaces it)
# Tells Sparki about every pushed branch and tag: one signed call each, see README "Build on git push, locally".
SPARKI_HOOK_URL=${shQuote(settings.url)}
# The key is in a file beside this hook (found at run time, so the repository may move).
SPARKI_HOOK_SECRET_FILE="$(dirname "$0")/${secretFileName}"
export SPARKI_HOOK_URL SPARKI_HOOK_SECRET_FILE
node=${shQuote(settings.node)}
[ -x "$node" ] || node=node
exec "$node" -e '${program}'
`;
}
