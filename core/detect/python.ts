import { AppBuilder, type DirContext } from "./app-builder.ts";
import { dig, isTable, procfileWeb, readToml, type Table } from "./manifest.ts";
import { firstVersion, toolVersions, versionFile, versionFromText } from "./runtime-version.ts";
import type { PackageManager } from "./schema.ts";

const MARKERS = ["pyproject.toml", "requirements.txt", "Pipfile", "setup.py", "setup.cfg", "manage.py"];
const REQUIREMENT_FILES = ["requirements.txt", "requirements-dev.txt", "requirements/base.txt", "requirements/dev.txt"];

/** PEP 503 normalisation, so "Django" and "django_cors" compare as written in any manifest. */
const normalise = (name: string) => name.toLowerCase().replace(/[-_.]+/g, "-");

/** The distribution name at the start of a PEP 508 requirement ("fastapi[all]>=0.110"). */
function requirementName(spec: string): string | null {
  const match = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(spec);
  return match?.[1] ? normalise(match[1]) : null;
}

/** Every dependency name declared in pyproject.toml (PEP 621, Poetry, uv, PEP 735 groups). */
function pyprojectDeps(py: Table): string[] {
  const out: string[] = [];
  const addSpecs = (list: unknown) => {
    if (Array.isArray(list)) for (const s of list) if (typeof s === "string") out.push(requirementName(s) ?? "");
  };
  addSpecs(dig(py, "project", "dependencies"));
  for (const group of [dig(py, "project", "optional-dependencies"), py["dependency-groups"]]) {
    if (isTable(group)) for (const list of Object.values(group)) addSpecs(list);
  }
  addSpecs(dig(py, "tool", "uv", "dev-dependencies"));
  const poetryTables = [dig(py, "tool", "poetry", "dependencies"), dig(py, "tool", "poetry", "dev-dependencies")];
  const groups = dig(py, "tool", "poetry", "group");
  if (isTable(groups)) for (const g of Object.values(groups)) poetryTables.push(dig(g, "dependencies"));
  for (const table of poetryTables) if (isTable(table)) out.push(...Object.keys(table).map(normalise));
  return out.filter((n) => n !== "" && n !== "python");
}

interface PythonTool {
  pm: PackageManager;
  lockfile: string | null;
  /** Prefix that runs a tool inside the project's environment. */
  run: string;
  install: string;
  file: string;
  reason: string;
}

function choosePythonTool(ctx: DirContext, py: Table | null): PythonTool {
  if (ctx.has("uv.lock") || isTable(dig(py, "tool", "uv"))) {
    const lock = ctx.has("uv.lock");
    return {
      pm: "uv",
      lockfile: lock ? ctx.path("uv.lock") : null,
      run: "uv run ",
      install: lock ? "uv sync --frozen" : "uv sync",
      file: ctx.path(lock ? "uv.lock" : "pyproject.toml"),
      reason: lock ? "uv.lock is uv's lockfile" : "pyproject.toml has [tool.uv]",
    };
  }
  if (ctx.has("poetry.lock") || isTable(dig(py, "tool", "poetry"))) {
    const lock = ctx.has("poetry.lock");
    return {
      pm: "poetry",
      lockfile: lock ? ctx.path("poetry.lock") : null,
      run: "poetry run ",
      install: "poetry install --no-interaction",
      file: ctx.path(lock ? "poetry.lock" : "pyproject.toml"),
      reason: lock ? "poetry.lock is Poetry's lockfile" : "pyproject.toml has [tool.poetry]",
    };
  }
  if (ctx.has("Pipfile")) {
    const lock = ctx.has("Pipfile.lock");
    return {
      pm: "pipenv",
      lockfile: lock ? ctx.path("Pipfile.lock") : null,
      run: "pipenv run ",
      install: lock ? "pipenv install --deploy --dev" : "pipenv install --dev",
      file: ctx.path("Pipfile"),
      reason: "Pipfile is Pipenv's manifest",
    };
  }
  if (ctx.has("requirements.txt")) {
    return {
      pm: "pip",
      lockfile: ctx.path("requirements.txt"),
      run: "",
      install: "pip install -r requirements.txt",
      file: ctx.path("requirements.txt"),
      reason: "requirements.txt is installed with pip",
    };
  }
  const manifest = ctx.first(["pyproject.toml", "setup.py", "setup.cfg"]) ?? "pyproject.toml";
  return {
    pm: "pip",
    lockfile: null,
    run: "",
    install: "pip install .",
    file: ctx.path(manifest),
    reason: `${manifest} without a lockfile: installed with pip`,
  };
}

/**
 * A test module that the standard library's `python -m unittest` discovers (test*.py at the top
 * level, or in a tests/ package) and that imports unittest, as a Flask app's root tests.py does.
 */
async function unittestFile(ctx: DirContext): Promise<string | null> {
  const top = [...ctx.files].filter((f) => /^test[^/]*\.py$/.test(f)).sort();
  const pkg = ctx.has("tests/__init__.py")
    ? ctx.index
        .filesIn(ctx.path("tests"))
        .filter((f) => /^test[^/]*\.py$/.test(f))
        .map((f) => `tests/${f}`)
    : [];
  for (const name of [...top, ...pkg]) {
    const text = await ctx.read(name);
    if (text !== null && /^\s*(import unittest|from unittest\b)/m.test(text)) return name;
  }
  return null;
}

/** Detects a Python project: Django, FastAPI, Flask, or a package built with pip, Poetry or uv. */
export async function detectPython(ctx: DirContext): Promise<AppBuilder | null> {
  const marker = ctx.first(MARKERS);
  if (!marker) return null;
  const b = new AppBuilder(ctx.dir);
  b.note("project", ctx.path(marker), `${marker} marks a Python project`);
  b.setLanguage("python", ctx.path(marker), `${marker} is a Python manifest`);
  const py = await readToml(ctx, "pyproject.toml");
  const pipfile = await readToml(ctx, "Pipfile");
  const nameValue = dig(py, "project", "name") ?? dig(py, "tool", "poetry", "name");
  b.name = typeof nameValue === "string" ? nameValue : null;

  const deps = new Set(py ? pyprojectDeps(py) : []);
  for (const table of [pipfile?.packages, pipfile?.["dev-packages"]]) {
    if (isTable(table)) for (const k of Object.keys(table)) deps.add(normalise(k));
  }
  let depsFile = ctx.path(py ? "pyproject.toml" : (ctx.first(["Pipfile", "requirements.txt"]) ?? marker));
  for (const name of REQUIREMENT_FILES) {
    const text = await ctx.read(name);
    if (text === null) continue;
    for (const line of text.split(/\r?\n/)) {
      const dep = line.trim().startsWith("-") ? null : requirementName(line.replace(/#.*/, ""));
      if (dep) deps.add(dep);
    }
    if (!py) depsFile = ctx.path(name);
  }

  const tool = choosePythonTool(ctx, py);
  b.packageManager = tool.pm;
  b.lockfile = tool.lockfile;
  b.note("packageManager", tool.file, tool.reason);

  const version = await firstVersion([
    () => versionFile(ctx, ".python-version"),
    () => versionFromText(ctx, "runtime.txt", /python-(\d[\w.]*)/, (v) => `runtime.txt pins python ${v}`),
    () => toolVersions(ctx, ["python"]),
    async () => {
      const req = dig(py, "project", "requires-python") ?? dig(py, "tool", "poetry", "dependencies", "python");
      return typeof req === "string" ? { version: req, file: ctx.path("pyproject.toml"), reason: `pyproject.toml requires python ${req}` } : null;
    },
  ]);
  if (version) b.setRuntime("python", version.version, version.file, version.reason);
  else b.setRuntime("python", null, ctx.path(marker), "no Python version pinned");

  const run = (cmd: string) => `${tool.run}${cmd}`;
  const isPackage = isTable(py?.project) || isTable(dig(py, "tool", "poetry")) || ctx.has("setup.py");
  b.setCommand("install", tool.install, tool.file, tool.reason);
  const ruff = deps.has("ruff") || ctx.has("ruff.toml") || ctx.has(".ruff.toml") || isTable(dig(py, "tool", "ruff"));
  if (ruff) b.setCommand("lint", run("ruff check ."), depsFile, "ruff is configured or a dependency");
  else if (deps.has("flake8")) b.setCommand("lint", run("flake8"), depsFile, "flake8 is a dependency");
  else b.setCommand("lint", null, depsFile, "no Python linter among the dependencies");
  const pytest = deps.has("pytest") || ctx.has("pytest.ini") || ctx.has("conftest.py") || isTable(dig(py, "tool", "pytest"));

  const procfile = await procfileWeb(ctx);
  const startOr = (fallback: string, file: string, reason: string) =>
    procfile ? b.setCommand("start", procfile, ctx.path("Procfile"), "Procfile web process") : b.setCommand("start", run(fallback), file, reason);

  if (deps.has("django") || ctx.has("manage.py")) {
    b.setFramework(
      "django",
      ctx.has("manage.py") ? ctx.path("manage.py") : depsFile,
      ctx.has("manage.py") ? "manage.py is Django's entry point" : "depends on django",
    );
    if (deps.has("django") && ctx.has("manage.py")) b.note("framework", depsFile, "depends on django");
    b.confidence = deps.has("django") && ctx.has("manage.py") ? 0.95 : 0.85;
    const manage = (await ctx.read("manage.py")) ?? "";
    const project = /DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w]+)\.settings/.exec(manage)?.[1] ?? null;
    b.setCommand("test", run(pytest ? "pytest" : "python manage.py test"), depsFile, pytest ? "pytest is configured" : "Django's test runner");
    b.setCommand("build", run("python manage.py collectstatic --noinput"), ctx.path("manage.py"), "collects static files for deployment");
    if (deps.has("gunicorn") && project)
      startOr(`gunicorn ${project}.wsgi`, ctx.path("manage.py"), `gunicorn serves ${project}.wsgi (from DJANGO_SETTINGS_MODULE)`);
    else startOr("python manage.py runserver 0.0.0.0:8000", ctx.path("manage.py"), "no gunicorn: Django's own server");
    b.setOutputDir(null, depsFile, "a Django app is a server");
    return b;
  }

  const web = deps.has("fastapi") ? "fastapi" : deps.has("flask") ? "flask" : null;
  const unittest = pytest ? null : await unittestFile(ctx);
  if (pytest) b.setCommand("test", run("pytest"), depsFile, "pytest is configured or a dependency");
  else if (unittest)
    b.setCommand("test", run("python -m unittest"), ctx.path(unittest), `${unittest} imports unittest: the standard library's runner finds it`);
  else b.setCommand("test", null, depsFile, "no test runner found");
  if (web) {
    b.setFramework(web, depsFile, `depends on ${web}`);
    b.confidence = 0.9;
    const entry = ctx.first(["main.py", "app.py", "app/main.py", "src/main.py", "wsgi.py"]);
    const module = entry ? entry.replace(/\.py$/, "").replace(/\//g, ".") : "main";
    b.setCommand("build", null, depsFile, "Python web apps have no build step");
    if (web === "fastapi") startOr(`uvicorn ${module}:app --host 0.0.0.0 --port 8000`, ctx.path(entry ?? marker), `uvicorn serves ${module}:app`);
    else if (deps.has("gunicorn")) startOr(`gunicorn ${module}:app`, ctx.path(entry ?? marker), `gunicorn serves ${module}:app`);
    else startOr(`flask --app ${module} run --host 0.0.0.0`, ctx.path(entry ?? marker), `Flask's server runs ${module}`);
    b.setOutputDir(null, depsFile, `a ${web} app is a server`);
    return b;
  }

  if (isPackage) {
    b.setFramework(null, ctx.path(ctx.first(["pyproject.toml", "setup.py"]) ?? marker), "a Python package with no web framework");
    b.confidence = 0.8;
    const build = tool.pm === "uv" ? "uv build" : tool.pm === "poetry" ? "poetry build" : "python -m build";
    b.setCommand("build", build, tool.file, "builds the sdist and wheel");
    b.setCommand("start", null, tool.file, "a package has nothing to start");
    b.setOutputDir(null, tool.file, "a library has no deployable output");
    return b;
  }
  b.setFramework("python", ctx.path(marker), "Python without a web framework");
  b.confidence = 0.5;
  b.setCommand("build", null, ctx.path(marker), "no build step");
  const main = ctx.first(["main.py", "app.py"]);
  if (main) startOr(`python ${main}`, ctx.path(main), `${main} is the entry script`);
  else b.setCommand("start", null, ctx.path(marker), "no entry script found");
  b.setOutputDir(null, ctx.path(marker), "no deployable output directory");
  return b;
}
