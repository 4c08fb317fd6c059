import { AppBuilder, type DirContext } from "./app-builder.ts";

/** Project files in `dir` or up to two levels below (src/Api/Api.csproj is the usual layout). */
function projectFiles(ctx: DirContext): string[] {
  const prefix = ctx.dir === "." ? "" : `${ctx.dir}/`;
  return ctx.index.paths.filter((p) => {
    if (!p.startsWith(prefix) || !/\.(cs|fs)proj$/.test(p)) return false;
    return p.slice(prefix.length).split("/").length <= 3;
  });
}

/** Detects .NET projects: ASP.NET Core (the Web SDK), console apps (`dotnet`), libraries (null). */
export async function detectDotnet(ctx: DirContext): Promise<AppBuilder | null> {
  const projects = projectFiles(ctx);
  if (projects.length === 0) return null;
  const texts = new Map<string, string>();
  for (const p of projects) texts.set(p, (await ctx.index.read(p)) ?? "");
  const isTest = (t: string) => /Microsoft\.NET\.Test\.Sdk|xunit|NUnit|MSTest/.test(t);
  const web = projects.find((p) => /Sdk="Microsoft\.NET\.Sdk\.Web"/.test(texts.get(p) ?? ""));
  const exe = projects.find((p) => /<OutputType>Exe<\/OutputType>/.test(texts.get(p) ?? "") && !isTest(texts.get(p) ?? ""));
  const main = web ?? exe ?? projects.find((p) => !isTest(texts.get(p) ?? "")) ?? projects[0] ?? "";
  const text = texts.get(main) ?? "";
  const b = new AppBuilder(ctx.dir);
  const assembly =
    /<AssemblyName>([^<]+)</.exec(text)?.[1] ??
    main
      .split("/")
      .pop()
      ?.replace(/\.(cs|fs)proj$/, "") ??
    "app";
  b.name = assembly;
  b.note("project", main, "a .NET project file");
  const fsharp = main.endsWith(".fsproj");
  b.setLanguage(fsharp ? "fsharp" : "csharp", main, fsharp ? ".fsproj is an F# project" : ".csproj is a C# project");
  b.packageManager = "dotnet";
  const lock = projects.map((p) => p.replace(/[^/]+$/, "packages.lock.json")).find((p) => ctx.index.has(p));
  b.lockfile = lock ?? main;
  b.note("packageManager", main, "NuGet packages restored by the dotnet CLI");

  const globalJson = await ctx.readJson("global.json");
  const sdk = typeof globalJson === "object" && globalJson !== null && "sdk" in globalJson ? (globalJson.sdk as { version?: unknown }).version : undefined;
  const tfm = /<TargetFramework>net(\d+\.\d+)<\/TargetFramework>/.exec(text)?.[1];
  if (typeof sdk === "string") b.setRuntime("dotnet", sdk, ctx.path("global.json"), `global.json pins SDK ${sdk}`);
  else if (tfm) b.setRuntime("dotnet", tfm, main, `TargetFramework net${tfm}`);
  else b.setRuntime("dotnet", null, main, "no target framework found");

  const sln = ctx.first([...ctx.files].filter((f) => f.endsWith(".sln")));
  const target = sln ?? (ctx.dir === "." ? main : main.slice(ctx.dir.length + 1));
  b.setCommand("install", `dotnet restore ${target}`, sln ? ctx.path(sln) : main, "restores NuGet packages");
  b.setCommand("lint", `dotnet format ${target} --verify-no-changes`, main, "dotnet format ships with the SDK");
  const tests = projects.filter((p) => isTest(texts.get(p) ?? ""));
  b.setCommand(
    "test",
    tests.length > 0 ? `dotnet test ${target}` : null,
    tests[0] ?? main,
    tests.length > 0 ? "a test project references the test SDK" : "no test project",
  );
  const mainRel = ctx.dir === "." ? main : main.slice(ctx.dir.length + 1);
  b.setCommand("build", `dotnet publish ${mainRel} -c Release -o publish`, main, "publishes a release build");

  if (web) {
    b.setFramework("aspnet-core", web, "uses Microsoft.NET.Sdk.Web");
    b.confidence = 0.95;
    b.setCommand("start", `dotnet publish/${assembly}.dll`, main, "runs the published assembly");
    b.setOutputDir(null, main, "an ASP.NET Core app is a server");
  } else if (exe) {
    b.setFramework("dotnet", exe, "a console app (OutputType Exe)");
    b.confidence = 0.8;
    b.setCommand("start", `dotnet publish/${assembly}.dll`, main, "runs the published assembly");
    b.setOutputDir(null, main, "no deployable output directory");
  } else {
    b.setFramework(null, main, "a class library");
    b.confidence = 0.8;
    b.setCommand("start", null, main, "a library has nothing to start");
    b.setOutputDir(null, main, "a library has no deployable output");
  }
  return b;
}
