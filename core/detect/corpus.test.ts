import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { fsTree } from "../../node/fs-tree.ts";
import { detect, DetectionSchema, memoryTree, type Detection } from "./index.ts";

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(here, "fixtures");
const EXPECTED = join(here, "expected");
/** Set UPDATE_EXPECTED=1 to rewrite expected/*.json after a deliberate change (then review the diff). */
const UPDATE = process.env.UPDATE_EXPECTED === "1";

const cases = (await readdir(FIXTURES)).sort();

/** The empty repository cannot live in git (an empty folder is not tracked), so it is built in memory. */
async function detectCase(name: string): Promise<Detection> {
  if (name === "empty") return detect(memoryTree({}));
  return detect(await fsTree(join(FIXTURES, name)));
}

describe("fixture corpus: full result, evidence included", () => {
  it("has a fixture for every expected file and vice versa", async () => {
    const expected = (await readdir(EXPECTED)).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
    expect(expected.sort()).toEqual([...cases, "empty"].sort());
  });

  for (const name of [...cases, "empty"]) {
    it(name, async () => {
      const result = await detectCase(name);
      expect(DetectionSchema.parse(result)).toEqual(result);
      const file = join(EXPECTED, `${name}.json`);
      if (UPDATE) {
        await mkdir(EXPECTED, { recursive: true });
        await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
      }
      const expected: unknown = JSON.parse(await readFile(file, "utf8"));
      expect(result).toEqual(expected);
    });
  }
});
