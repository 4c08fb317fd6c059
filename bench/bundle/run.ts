/**
 * bench/bundle: the size of the Worker that `wrangler deploy` would upload. Builds Sparki's Worker
 * with wrangler's dry run (wrangler.toml as is: minified, its aliases) and, in the same run, a bare
 * Hono Worker (bare-hono.ts: one route, same compatibility settings) as the baseline. Prints raw and
 * gzip bytes of every module wrangler would upload (source maps aside; gzip at zlib's default level,
 * within 1% of wrangler's own "gzip:" figure), beside the goal, then the parts that weigh most,
 * grouped by package or by the repository's top two folders: at full size by marginal gzip (the
 * bundle gzipped without that part's bytes, through the source map: attribution.ts), at smoke size
 * by minified bytes from wrangler's esbuild metafile (the same build, without the 60-odd gzips).
 * Goal: Sparki's Worker under 300 KiB gzip. The planner Worker (planner/: detection and sparki.yml,
 * which the API reaches through its PLANNER service binding) is built and printed beside it.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { z } from "zod";
import { sizeLabel, smoke } from "../size.js";
import { marginalGzip } from "./attribution.js";

const projectRoot = fileURLToPath(new URL("../..", import.meta.url));
const goalKiB = 300;
const topInputs = smoke ? 5 : Number(process.env.BENCH_BUNDLE_TOP ?? 15);

/** The part of esbuild's metafile read here. */
const Metafile = z.object({
  outputs: z.record(z.string(), z.object({ bytes: z.number(), inputs: z.record(z.string(), z.object({ bytesInOutput: z.number() })) })),
});

const SourceMap = z.object({ mappings: z.string(), sources: z.array(z.string()) });

interface Bundle {
  outdir: string;
  modules: number;
  raw: number;
  gzip: number;
  /** Bytes in the output per package or folder, biggest first. */
  inputs: [string, number][];
}

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(projectRoot, "node_modules/.bin/wrangler"), args, { cwd: projectRoot, env: { ...process.env, WRANGLER_SEND_METRICS: "false" } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d;
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d;
    });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`wrangler ${args.join(" ")} exited ${code}:\n${out}`))));
  });
}

/** node_modules/@scope/name/… → @scope/name; workers/routes/x.ts → workers/routes. */
function groupOf(input: string): string {
  const pkg = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg?.[1]) return pkg[1];
  const parts = input.split("/");
  return parts.length > 2 ? parts.slice(0, 2).join("/") : input;
}

async function build(name: string, config: string, dir: string): Promise<Bundle> {
  const outdir = join(dir, name);
  const metafile = join(dir, `${name}.meta.json`);
  await run(["deploy", "--dry-run", "--config", config, "--outdir", outdir, "--metafile", metafile]);
  const modules = readdirSync(outdir).filter((f) => /\.(m?js|wasm)$/.test(f));
  let raw = 0;
  let gzip = 0;
  for (const file of modules) {
    const bytes = readFileSync(join(outdir, file));
    raw += bytes.byteLength;
    gzip += gzipSync(bytes).byteLength;
  }
  const byGroup = new Map<string, number>();
  const meta = Metafile.parse(JSON.parse(readFileSync(metafile, "utf8")));
  for (const [path, output] of Object.entries(meta.outputs)) {
    if (path.endsWith(".map")) continue;
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) byGroup.set(groupOf(input), (byGroup.get(groupOf(input)) ?? 0) + bytesInOutput);
  }
  return { outdir, modules: modules.length, raw, gzip, inputs: [...byGroup].sort((a, b) => b[1] - a[1]) };
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

async function main(): Promise<string> {
  console.log(`bench/bundle (${sizeLabel}): wrangler deploy --dry-run of the API Worker and of a bare Hono Worker`);
  const dir = mkdtempSync(join(tmpdir(), "sparki-bundle-"));
  try {
    const bare = await build("bare-hono", join(projectRoot, "bench/bundle/bare-hono.wrangler.toml"), dir);
    const sparki = await build("sparki", join(projectRoot, "wrangler.toml"), dir);
    const planner = await build("planner", join(projectRoot, "planner/wrangler.toml"), dir);
    for (const [name, b] of [
      ["Sparki   ", sparki],
      ["planner  ", planner],
      ["bare Hono", bare],
    ] as const)
      console.log(`  ${name}  ${kib(b.raw).padStart(12)} raw  ${kib(b.gzip).padStart(11)} gzip  (${b.modules} module${b.modules === 1 ? "" : "s"})`);
    console.log(`  goal       gzip < ${goalKiB} KiB: ${sparki.gzip / 1024 < goalKiB ? "met" : "NOT met"}`);
    if (smoke) {
      console.log(`the ${topInputs} parts that weigh most in Sparki's bundle (minified bytes in the output, before gzip):`);
      for (const [group, bytes] of sparki.inputs.slice(0, topInputs)) console.log(`  ${kib(bytes).padStart(10)}  ${group}`);
    } else {
      const code = readFileSync(join(sparki.outdir, "index.js"), "utf8");
      const map = SourceMap.parse(JSON.parse(readFileSync(join(sparki.outdir, "index.js.map"), "utf8")));
      // Sources are relative to the output folder; the part is named from the repository's root.
      // drizzle-orm's own source maps name its files node_modules/src/….
      const partOf = (source: string) =>
        groupOf(
          source
            .replace(/^(\.\.\/)+/, "")
            .replace(/^.*?(node_modules\/|(?=(workers|server|core|durable-objects)\/))/, "$1")
            .replace(/^node_modules\/src\//, "node_modules/drizzle-orm/src/"),
        );
      const parts = marginalGzip(code, map, partOf);
      console.log(`the ${topInputs} parts that weigh most in Sparki's bundle: gzip bytes saved without it (marginal), minified bytes`);
      for (const { part, raw, gzip } of parts.slice(0, topInputs)) console.log(`  ${kib(gzip).padStart(10)}  ${kib(raw).padStart(10)}  ${part}`);
    }
    const met = sparki.gzip / 1024 < goalKiB ? "met" : "NOT met";
    return `SUMMARY bundle: Worker ${kib(sparki.gzip)} gzip, ${kib(sparki.raw)} raw (goal < ${goalKiB} KiB gzip: ${met}); planner Worker ${kib(planner.gzip)} gzip; bare Hono Worker ${kib(bare.gzip)} gzip, ${kib(bare.raw)} raw; ${sizeLabel}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(await main());
