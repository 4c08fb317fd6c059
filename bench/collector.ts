/**
 * Starts collector-process.ts under `nice -n 19`: the bench's stand-in for a collector on another
 * host (see there). Ends with the bench: close() ends its stdin.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export interface Collector {
  /** The OTLP base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  url: string;
  /** Spans received so far. */
  count(): Promise<number>;
  close(): void;
}

export async function startCollector(): Promise<Collector> {
  const entry = fileURLToPath(new URL("./collector-process.ts", import.meta.url));
  const child = spawn("nice", ["-n", "19", process.execPath, "--import", "tsx", entry], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`the collector process exited ${code} before it listened`)));
  });
  const [, url, control] = first.split(" ");
  if (!url || !control) throw new Error(`the collector process said ${JSON.stringify(first)}`);
  return {
    url,
    count: async () => Number(await (await fetch(`${control}/count`)).text()),
    close: () => void child.stdin.end(),
  };
}
