import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { marginalGzip } from "./attribution.ts";

/** A minified bundle of two modules of known size, with its source map. */
async function twoModules(): Promise<{ code: string; map: { mappings: string; sources: string[] } }> {
  const big = `export const big = ${JSON.stringify(Array.from({ length: 400 }, (_, i) => `big-${i * 7919}`))};`;
  const small = `export const small = "tiny";`;
  const result = await build({
    stdin: { contents: `import { big } from "big"; import { small } from "small"; console.log(big.length, small);`, resolveDir: ".", sourcefile: "entry.js" },
    bundle: true,
    minify: true,
    format: "esm",
    sourcemap: "external",
    outfile: "out.js",
    write: false,
    plugins: [
      {
        name: "virtual",
        setup(b) {
          b.onResolve({ filter: /^(big|small)$/ }, (args) => ({ path: args.path, namespace: "virtual" }));
          b.onLoad({ filter: /.*/, namespace: "virtual" }, (args) => ({ contents: args.path === "big" ? big : small, loader: "js" }));
        },
      },
    ],
  });
  const file = (suffix: string) => result.outputFiles.find((f) => f.path.endsWith(suffix))?.text ?? "";
  return { code: file("out.js"), map: JSON.parse(file("out.js.map")) };
}

describe("marginalGzip", () => {
  it("gives each module the bytes it put in the bundle, and the big one most of the gzip", async () => {
    const { code, map } = await twoModules();
    const parts = marginalGzip(code, map, (source) => source.replace(/^virtual:/, ""));
    const big = parts.find((p) => p.part === "big");
    const small = parts.find((p) => p.part === "small");
    expect(parts[0]?.part).toBe("big");
    // The array literal alone is over 4,000 characters; "tiny" and its declaration a few dozen.
    expect(big?.raw).toBeGreaterThan(4000);
    expect(big?.raw).toBeLessThan(code.length);
    expect(small?.raw).toBeGreaterThan(4);
    expect(small?.raw).toBeLessThan(60);
    expect(big?.gzip).toBeGreaterThan(1000);
    expect(parts.reduce((sum, p) => sum + p.raw, 0)).toBeLessThanOrEqual(code.length);
  });

  it("reads multi-digit and negative VLQ fields", () => {
    // Columns 0 and 33 ("iC": 33 takes two digits), sources a then b.
    const wide = marginalGzip("x".repeat(40), { mappings: "AAAA,iCCAA", sources: ["a", "b"] }, (s) => s);
    expect(Object.fromEntries(wide.map((p) => [p.part, p.raw]))).toEqual({ a: 33, b: 7 });
    // Sources a, b, then a again ("D": -1).
    const back = marginalGzip("abcdef", { mappings: "AAAA,ECAA,EDAA", sources: ["a", "b"] }, (s) => s);
    expect(Object.fromEntries(back.map((p) => [p.part, p.raw]))).toEqual({ a: 4, b: 2 });
  });

  it("refuses mappings that are not base64 VLQ", () => {
    expect(() => marginalGzip("x", { mappings: "A!AA", sources: ["a"] }, (s) => s)).toThrow(/not base64/);
  });
});
