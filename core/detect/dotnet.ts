import { AppBuilder, type DirContext } from "./app-builder.ts";

/** Project files in `dir` or up to two levels below (src/Api/Api.csproj is the usual layout). */
function projectFiles(ctx: DirContext): string[] {
  const prefix = ctx.dir === "." ? "" : `${ctx.dir}/`;
  return ctx.index.paths.filter((p) => {
    if (!p.startsWith(prefix) || !/\.(cs|fs)proj$/.test(p)) return false;
    return p.slice(prefix.length).split("/").length <= 3;
  });
}

const stem = (path: string) => (path.split("/").pop() ?? path).replace(/\.(cs|fs)proj$|\.slnx?$/, "");

/** Solutions that are not "Everything.sln"-style aggregates come first. */
function bySolutionPreference(a: string, b: string): number {
  const aggregate = (f: string) => (/^(all|everything)\b/i.test(stem(f)) ? 1 : 0);
  return aggregate(a) - aggregate(b) || a.localeCompare(b);
}

/**
 * Which of several web projects is the app: the one the solution is named after
 * (eShopOnWeb.sln → Web), else the one a Dockerfile at the root runs (`dotnet X.dll`), else the
 * first. The others (a public API, an admin) are beside it.
 */
async function chooseWebApp(ctx: DirContext, webs: readonly string[], sln: string | null): Promise<{ project: string; file: string; reason: string } | null> {
  const others = (p: string) =>
    webs
      .filter((w) => w !== p)
      .map(stem)
      .join(", ");
  if (sln) {
    const name = stem(sln).toLowerCase();
    const named = webs
      .filter((w) => name.includes(stem(w).toLowerCase()) || stem(w).toLowerCase().includes(name))
      .sort((a, b) => stem(b).length - stem(a).length);
    const [first] = named;
    if (first)
      return {
        project: first,
        file: ctx.path(sln),
        reason: `the solution ${sln} is named after ${stem(first)}, its web app (also web projects: ${others(first)})`,
      };
  }
  for (const name of ["Dockerfile", "Containerfile"]) {
    const text = await ctx.read(name);
    const dll = text === null ? undefined : /["\s]([\w.-]+)\.dll["\s]/.exec(text)?.[1];
    const hit = dll ? webs.find((w) => stem(w) === dll) : undefined;
    if (hit) return { project: hit, file: ctx.path(name), reason: `${name} runs ${dll}.dll (also web projects: ${others(hit)})` };
  }
  return null;
}

/** Detects .NET projects: ASP.NET Core (the Web SDK), console apps (`dotnet`), libraries (null). */
export async function detectDotnet(ctx: DirContext): Promise<AppBuilder | null> {
  const projects = projectFiles(ctx);
  if (projects.length === 0) return null;
  const texts = new Map<string, string>();
  for (const p of projects) texts.set(p, (await ctx.index.read(p)) ?? "");
  const isTest = (t: string) => /Microsoft\.NET\.Test\.Sdk|xunit|NUnit|MSTest/.test(t);
  const webs = projects.filter((p) => /Sdk="Microsoft\.NET\.Sdk\.Web"/.test(texts.get(p) ?? "") && !isTest(texts.get(p) ?? ""));
  const sln = ctx.first([...ctx.files].filter((f) => f.endsWith(".sln") || f.endsWith(".slnx")).sort(bySolutionPreference));
  const chosen = webs.length > 1 ? await chooseWebApp(ctx, webs, sln) : null;
  const web = chosen?.project ?? webs[0];
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
  if (chosen) b.note("project", chosen.file, chosen.reason);
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
