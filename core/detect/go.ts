import { AppBuilder, type DirContext } from "./app-builder.ts";
import type { DetectedFramework } from "./frameworks.ts";
import { toolVersions } from "./runtime-version.ts";

const GO_FRAMEWORKS: ReadonlyArray<readonly [DetectedFramework, string]> = [
  ["gin", "github.com/gin-gonic/gin"],
  ["echo", "github.com/labstack/echo"],
  ["fiber", "github.com/gofiber/fiber"],
  ["chi", "github.com/go-chi/chi"],
];

/** Detects a Go module: Gin/Echo/Fiber/chi services, plain binaries (`go`), libraries (null). */
export async function detectGo(ctx: DirContext): Promise<AppBuilder | null> {
  const mod = await ctx.read("go.mod");
  if (mod === null) return null;
  const file = ctx.path("go.mod");
  const b = new AppBuilder(ctx.dir);
  const modulePath = /^module\s+(\S+)/m.exec(mod)?.[1] ?? null;
  const name = modulePath?.split("/").pop() ?? "app";
  b.name = modulePath;
  b.note("project", file, "go.mod marks a Go module");
  b.setLanguage("go", file, "go.mod is a Go module file");
  b.packageManager = "go";
  b.lockfile = ctx.has("go.sum") ? ctx.path("go.sum") : null;
  b.note("packageManager", file, "Go modules");

  const toolchain = /^toolchain\s+go(\S+)/m.exec(mod)?.[1];
  const goLine = /^go\s+(\d[\w.]*)/m.exec(mod)?.[1];
  const asdf = await toolVersions(ctx, ["golang", "go"]);
  if (toolchain) b.setRuntime("go", toolchain, file, `toolchain directive go${toolchain}`);
  else if (goLine) b.setRuntime("go", goLine, file, `go directive ${goLine}`);
  else if (asdf) b.setRuntime("go", asdf.version, asdf.file, asdf.reason);
  else b.setRuntime("go", null, file, "no go directive");

  b.setCommand("install", "go mod download", b.lockfile ?? file, "downloads the modules in go.sum");
  b.setCommand("lint", "go vet ./...", file, "go vet ships with Go");
  const hasTests = ctx.index.paths.some((p) => p.endsWith("_test.go") && (ctx.dir === "." || p.startsWith(`${ctx.dir}/`)));
  b.setCommand("test", hasTests ? "go test ./..." : null, file, hasTests ? "_test.go files present" : "no _test.go files");

  const cmds = ctx.index.dirsIn(ctx.path("cmd")).filter((d) => ctx.has(`cmd/${d}/main.go`));
  const fw = GO_FRAMEWORKS.find(([, path]) => mod.includes(path));
  if (fw) {
    b.setFramework(fw[0], file, `requires ${fw[1]}`);
    b.confidence = 0.9;
  }
  let target: string | null = null;
  let bin = name;
  if (ctx.has("main.go")) target = ".";
  else if (cmds.length === 1 && cmds[0]) {
    bin = cmds[0];
    target = `./cmd/${bin}`;
  }
  if (target) {
    if (!fw) {
      b.setFramework("go", ctx.path(target === "." ? "main.go" : `cmd/${bin}/main.go`), "a Go program with no web framework");
      b.confidence = 0.8;
    }
    b.setCommand("build", `go build -o bin/${bin} ${target}`, ctx.path(target === "." ? "main.go" : `cmd/${bin}/main.go`), `package main in ${target}`);
    b.setCommand("start", `./bin/${bin}`, file, "runs the built binary");
  } else {
    if (!fw) {
      b.setFramework(
        cmds.length > 1 ? "go" : null,
        file,
        cmds.length > 1 ? `several commands under cmd/ (${cmds.join(", ")})` : "no package main: a Go library",
      );
      b.confidence = cmds.length > 1 ? 0.7 : 0.8;
    }
    b.setCommand("build", "go build ./...", file, "builds every package");
    b.setCommand("start", null, file, cmds.length > 1 ? "several binaries; no single start" : "a library has nothing to start");
  }
  b.setOutputDir(null, file, "Go builds a binary, not a static site");
  return b;
}
