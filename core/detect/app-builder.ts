import type { DetectedFramework } from "./frameworks.ts";
import type { Commands, DetectedApp, Evidence, EvidenceField, Language, PackageManager } from "./schema.ts";
import { EvidenceFieldSchema } from "./schema.ts";
import { joinPath, type TreeIndex } from "./tree.ts";

/** A directory being examined: the tree plus repo-relative path helpers. */
export class DirContext {
  /** File names directly in `dir`. */
  readonly files: ReadonlySet<string>;

  constructor(
    readonly index: TreeIndex,
    readonly dir: string,
  ) {
    this.files = new Set(index.filesIn(dir));
  }

  /** Repo-relative path of `name` inside this directory. */
  path(name: string): string {
    return joinPath(this.dir, name);
  }

  has(name: string): boolean {
    return this.index.has(this.path(name));
  }

  hasDir(name: string): boolean {
    return this.index.hasDir(this.path(name));
  }

  read(name: string): Promise<string | null> {
    return this.index.read(this.path(name));
  }

  readJson(name: string): Promise<unknown> {
    return this.index.readJson(this.path(name));
  }

  /** The first of `names` that exists here, or null. */
  first(names: readonly string[]): string | null {
    return names.find((n) => this.has(n)) ?? null;
  }
}

type CommandKind = keyof Commands;

const FIELD_ORDER = EvidenceFieldSchema.options;

/**
 * Accumulates one project's answers together with the evidence for each, so an
 * ecosystem module cannot set a field without saying which file and why.
 */
export class AppBuilder {
  name: string | null = null;
  /** Where commands run; the project's own folder unless a workspace root drives it. */
  cwd: string;
  language: Language | null = null;
  framework: DetectedFramework | null = null;
  packageManager: PackageManager | null = null;
  packageManagerVersion: string | null = null;
  lockfile: string | null = null;
  runtime: { name: string; version: string | null } | null = null;
  readonly commands: Commands = { install: null, lint: null, test: null, build: null, start: null };
  outputDir: string | null = null;
  confidence = 0;
  private readonly evidence: Evidence[] = [];

  constructor(readonly path: string) {
    this.cwd = path;
  }

  /** Records a piece of evidence without changing a field. */
  note(field: EvidenceField, file: string | null, reason: string): this {
    this.evidence.push({ field, file, reason });
    return this;
  }

  setLanguage(language: Language, file: string | null, reason: string): this {
    this.language = language;
    return this.note("language", file, reason);
  }

  setFramework(framework: DetectedFramework | null, file: string | null, reason: string): this {
    this.framework = framework;
    return this.note("framework", file, reason);
  }

  setRuntime(name: string, version: string | null, file: string | null, reason: string): this {
    this.runtime = { name, version };
    return this.note("runtime", file, reason);
  }

  setCommand(kind: CommandKind, command: string | null, file: string | null, reason: string): this {
    this.commands[kind] = command;
    return this.note(`commands.${kind}`, file, reason);
  }

  setOutputDir(dir: string | null, file: string | null, reason: string): this {
    this.outputDir = dir;
    return this.note("outputDir", file, reason);
  }

  /** The finished record, evidence grouped by field in schema order. */
  build(): DetectedApp {
    const evidence = this.evidence
      .map((e, i) => ({ e, i }))
      .sort((a, b) => FIELD_ORDER.indexOf(a.e.field) - FIELD_ORDER.indexOf(b.e.field) || a.i - b.i)
      .map(({ e }) => e);
    return {
      path: this.path,
      name: this.name,
      cwd: this.cwd,
      language: this.language,
      framework: this.framework,
      packageManager: this.packageManager,
      packageManagerVersion: this.packageManagerVersion,
      lockfile: this.lockfile,
      runtime: this.runtime,
      commands: { ...this.commands },
      outputDir: this.outputDir,
      confidence: this.confidence,
      evidence,
    };
  }
}

/** What an ecosystem module returns for a directory it recognises. */
export type EcosystemDetector = (ctx: DirContext) => Promise<AppBuilder | null>;
