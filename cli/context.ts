import type { Command } from "commander";
import { ApiClient, EXIT } from "./api.ts";
import { resolveSettings, type GlobalFlags, type Resolved } from "./config.ts";
import { UserError } from "../node/user-error.ts";

export interface Ctx {
  api: ApiClient;
  settings: Resolved;
  json: boolean;
  /** The command's own options merged with the global ones. */
  opts: Record<string, unknown> & GlobalFlags;
}

/**
 * Wraps an API command's action: resolves the server, token and workspace from the flags, the
 * environment and the saved config, and hands the positional arguments on.
 */
export function act<A extends string[]>(fn: (ctx: Ctx, ...args: A) => Promise<void>) {
  return async (...raw: unknown[]): Promise<void> => {
    const cmd = raw[raw.length - 1] as Command;
    const opts = cmd.optsWithGlobals<Record<string, unknown> & GlobalFlags>();
    const settings = await resolveSettings(opts);
    const api = new ApiClient({ url: settings.url, token: settings.token });
    const args = raw.slice(0, -2).filter((a): a is string => typeof a === "string") as A;
    await fn({ api, settings, json: Boolean(opts.json), opts }, ...args);
  };
}

/** Everything on stdin (for --password-stdin, secret values). */
export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UserError("expected the value on stdin (pipe it in) or as a flag", EXIT.usage);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

/** Asks for a line on the terminal; `hidden` echoes nothing (passwords). */
export async function prompt(question: string, hidden = false): Promise<string> {
  if (!process.stdin.isTTY) throw new UserError(`${question.replace(/:\s*$/, "")} is needed: give it as a flag or on stdin`, EXIT.usage);
  const stdin = process.stdin;
  // Raw mode first: a password typed as soon as the question shows is never echoed by the terminal.
  stdin.setRawMode(true);
  stdin.resume();
  process.stderr.write(question);
  let value = "";
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (buf: Buffer) => {
        for (const ch of buf.toString("utf8")) {
          if (ch === "\r" || ch === "\n") {
            stdin.off("data", onData);
            process.stderr.write("\n");
            resolve(value);
            return;
          }
          if (ch === "\u0003") {
            stdin.off("data", onData);
            reject(new UserError("cancelled", 130));
            return;
          }
          if (ch === "\u007f") value = value.slice(0, -1);
          else {
            value += ch;
            if (!hidden) process.stderr.write(ch);
          }
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}
