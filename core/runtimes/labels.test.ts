import { describe, expect, it } from "vitest";
import { detect, memoryTree } from "../detect/index.ts";
import { labelVersion, parseRuntimeLabel, RuntimeLabel, RuntimeRequirement, runtimeLabel, runtimeRequirement } from "./labels.ts";

describe("runtime labels", () => {
  it("name Node by major, Python, Go and Rust by major.minor", () => {
    expect(runtimeLabel("node", "v22.11.0")).toBe("node-22");
    expect(runtimeLabel("node", "20")).toBe("node-20");
    expect(runtimeLabel("node", "18.x")).toBe("node-18");
    expect(runtimeLabel("python", "3.12.4")).toBe("python-3.12");
    expect(runtimeLabel("python", "3.13.0-rc1")).toBe("python-3.13");
    expect(runtimeLabel("go", "1.22.5")).toBe("go-1.22");
    expect(runtimeLabel("go", "1.22")).toBe("go-1.22");
    expect(runtimeLabel("rust", "1.79.0")).toBe("rust-1.79");
    expect(runtimeLabel("python", "03.012")).toBe("python-3.12");
  });

  it("name no version for ranges, aliases and too few parts", () => {
    for (const [name, version] of [
      ["node", ">=18"],
      ["node", "^20.11"],
      ["node", "18 || 20"],
      ["node", "lts/*"],
      ["node", "node"],
      ["python", "3"],
      ["python", "3.x"],
      ["python", ">=3.9"],
      ["rust", "stable"],
      ["rust", "nightly-2024-05-01"],
      ["go", "1.22rc1"],
      ["node", ""],
      ["node", "12345.0"],
    ] as const) {
      expect(labelVersion(name, version), `${name} ${version}`).toBeNull();
    }
  });

  it("parse back only what a runner could report", () => {
    expect(parseRuntimeLabel("node-22")).toEqual({ name: "node", version: "22" });
    expect(parseRuntimeLabel("python-3.12")).toEqual({ name: "python", version: "3.12" });
    for (const bad of ["node-22.1", "python-3", "ruby-3.3", "linux", "gpu", "node-", "NODE-22", "node-22 ", "go-1.22.5"]) {
      expect(parseRuntimeLabel(bad), bad).toBeNull();
      expect(RuntimeLabel.safeParse(bad).success, bad).toBe(false);
    }
    expect(RuntimeLabel.safeParse("rust-1.79").success).toBe(true);
    expect(RuntimeRequirement.safeParse({ name: "node", version: "22.1" }).success).toBe(false);
    expect(RuntimeRequirement.safeParse({ name: "ruby", version: "3.3" }).success).toBe(false);
  });

  it("a pinned version is a requirement; a range, an unpinned runtime or an MSRV is none", async () => {
    const app = async (files: Record<string, string>) => runtimeRequirement(await detect(memoryTree(files)));
    const pkg = JSON.stringify({ name: "a", version: "1.0.0" });
    expect(await app({ "package.json": pkg, ".nvmrc": "v18.19.0\n" })).toEqual({ name: "node", version: "18" });
    expect(await app({ "package.json": JSON.stringify({ name: "a", engines: { node: ">=18" } }) })).toBeNull();
    expect(await app({ "package.json": pkg })).toBeNull();
    expect(await app({ "requirements.txt": "flask\n", ".python-version": "3.12.4\n" })).toEqual({ name: "python", version: "3.12" });
    expect(await app({ "go.mod": "module example.com/a\n\ngo 1.22.5\n" })).toEqual({ name: "go", version: "1.22" });
    expect(await app({ "Cargo.toml": '[package]\nname = "a"\nversion = "0.1.0"\n', "rust-toolchain": "1.79.0\n" })).toEqual({ name: "rust", version: "1.79" });
    expect(await app({ "Cargo.toml": '[package]\nname = "a"\nversion = "0.1.0"\nrust-version = "1.70"\n' })).toBeNull();
    expect(await app({ Gemfile: "source 'https://rubygems.org'\n", ".ruby-version": "3.3.4\n" })).toBeNull();
  });
});
