/**
 * A job receives the artifacts of the jobs it needs before its steps, into SPARKI_ARTIFACTS_DIR:
 * a file as it is, a directory (a .tar.gz, as the runner packs one) unpacked; and a download whose
 * SHA-256 is not the listed one fails the job before any step runs. Against the fake control plane.
 * Hostile archives are in test/security/needed-artifacts.test.ts.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create as createTar } from "tar";
import { afterEach, beforeEach, expect, it } from "vitest";
import { FakeControlPlane } from "./testing/fake-control-plane.ts";
import { createRepo, jobSpec, startAgent, type TestAgent } from "./testing/harness.ts";

let fake: FakeControlPlane;
let agent: TestAgent;
let repo: Awaited<ReturnType<typeof createRepo>>;
let work: string;

beforeEach(async () => {
  fake = await FakeControlPlane.start();
  repo = await createRepo([{ "README.md": "needs\n" }]);
  agent = await startAgent(fake);
  work = await mkdtemp(join(tmpdir(), "sparki-needs-test-"));
});

afterEach(async () => {
  await agent.stop();
  await fake.close();
  await repo.cleanup();
  await rm(work, { recursive: true, force: true });
});

/** A directory packed the way runner/artifacts.ts packs one. */
async function packed(files: Record<string, string>): Promise<Buffer> {
  const dir = join(work, "dist");
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of createTar({ gzip: true, cwd: dir, portable: true }, ["."])) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

it("puts a needed file and an unpacked needed directory in SPARKI_ARTIFACTS_DIR before the steps", async () => {
  const dist = await packed({ "index.html": "<h1>built</h1>\n", "assets/app.js": "console.log(1)\n" });
  const check = [
    'test "$(cat "$SPARKI_ARTIFACTS_DIR/dist/index.html")" = "<h1>built</h1>"',
    'test "$(cat "$SPARKI_ARTIFACTS_DIR/dist/assets/app.js")" = "console.log(1)"',
    'test "$(cat "$SPARKI_ARTIFACTS_DIR/reports/coverage.txt")" = "91%"',
  ].join(" && ");
  const id = fake.enqueue({
    ...jobSpec(repo.dir, repo.shas[0] as string, [{ id: "deploy", command: check }]),
    needed: [
      { name: "dist", jobId: "b.2", kind: "directory", bytes: dist },
      { name: "reports/coverage.txt", jobId: "b.3", kind: "file", bytes: Buffer.from("91%\n") },
    ],
  });
  const job = await fake.waitFor(id, (j) => j.result !== null);
  const log = job.log.map((l) => l.text).join("\n");
  expect(job.result, log).toMatchObject({ status: "succeeded", exitCode: 0 });
  expect(log).toMatch(/sparki: received dist \(directory, .*\) from job b\.2/);
  expect(log).toMatch(/sparki: received reports\/coverage\.txt \(file, .*\) from job b\.3/);
});

it("fails the job before its steps when a download is not the listed SHA-256", async () => {
  const marker = join(work, "ran");
  const id = fake.enqueue({
    ...jobSpec(repo.dir, repo.shas[0] as string, [{ id: "deploy", command: `touch ${marker}` }]),
    needed: [{ name: "app.bin", jobId: "b.2", kind: "file", bytes: Buffer.from("tampered"), sha256: "0".repeat(64) }],
  });
  const job = await fake.waitFor(id, (j) => j.result !== null);
  expect(job.result).toMatchObject({ status: "failed" });
  expect(job.result?.error).toMatch(/artifact app\.bin of job b\.2 refused: got 8 of 8 bytes with sha256 [0-9a-f]{12}, expected 000000000000/);
  expect(job.result?.steps).toEqual([expect.objectContaining({ id: "deploy", status: "skipped" })]);
  await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
});
