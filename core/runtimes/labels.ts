/**
 * Runtime labels: how a runner says which language runtimes it has (`node-22`, `python-3.12`,
 * `go-1.22`, `rust-1.79`) and how a job asks for one. One granularity per language, the part of
 * a version that decides what code runs: Node by major (20.11 and 20.18 run the same code; 20 and
 * 22 may not), Python, Go and Rust by major.minor (3.11 and 3.12 differ; their patch releases do
 * not). Only runtimes a runner can find (runner/runtimes.ts) are named, so a job never asks for a
 * label that no runner could report.
 */
import { z } from "zod";
import type { DetectedApp } from "../detect/schema.ts";

export const RUNTIME_NAMES = ["node", "python", "go", "rust"] as const;
export const RuntimeName = z.enum(RUNTIME_NAMES);
export type RuntimeName = z.infer<typeof RuntimeName>;

/** How many numeric parts of a version a label keeps. */
const PARTS: Readonly<Record<RuntimeName, 1 | 2>> = { node: 1, python: 2, go: 2, rust: 2 };

/** `22`, `3.12`: a version at its runtime's granularity (bounded: labels are matched and shown). */
const LabelVersion = z.string().regex(/^\d{1,4}(\.\d{1,4})?$/, "a major or major.minor version");

/** `node-22`, `python-3.12`: a runtime label as runners report it and jobs require it. */
export const RuntimeLabel = z
  .string()
  .max(32)
  .regex(/^(node|python|go|rust)-\d{1,4}(\.\d{1,4})?$/, "a runtime label such as node-22, python-3.12, go-1.22 or rust-1.79")
  .refine((label) => parseRuntimeLabel(label) !== null, "node labels name a major version, the others major.minor");

/** Most runtime labels one runner reports (several Node majors, Pythons, Gos and Rusts). */
export const MAX_RUNTIME_LABELS = 64;

/** A job's runtime: the runner that takes it has this label, and puts this version first on PATH. */
export const RuntimeRequirement = z
  .object({ name: RuntimeName, version: LabelVersion })
  .strict()
  .refine((r) => r.version.split(".").length === PARTS[r.name], "node versions are a major, the others major.minor");
export type RuntimeRequirement = z.infer<typeof RuntimeRequirement>;

/**
 * `version` at `name`'s granularity, or null when it does not name one: a range (`>=18`, `^3.10`,
 * `18 || 20`), an alias (`lts/*`, `stable`, `nightly`), or too few parts (`3` for Python).
 * Accepts `v22.11.0`, `22`, `20.x`, `3.12.4`, `1.22rc1` is refused (not a release).
 */
export function labelVersion(name: RuntimeName, version: string): string | null {
  const match = /^[v=]?(\d+(?:\.(?:\d+|x|\*))*)(?:[-+][0-9A-Za-z.+-]*)?$/i.exec(version.trim());
  if (!match?.[1]) return null;
  const parts = match[1].split(".").slice(0, PARTS[name]);
  if (parts.length < PARTS[name] || parts.some((p) => !/^\d{1,4}$/.test(p))) return null;
  return parts.map((p) => String(Number(p))).join(".");
}

/** `node-22` for Node 22.11.0; null when the version names no label (see {@link labelVersion}). */
export function runtimeLabel(name: RuntimeName, version: string): string | null {
  const v = labelVersion(name, version);
  return v === null ? null : `${name}-${v}`;
}

/** The label a requirement asks for. */
export function requirementLabel(r: RuntimeRequirement): string {
  return `${r.name}-${r.version}`;
}

/** A runtime label's parts, or null when it is not one (`linux`, `node-22.1`, `python-3`). */
export function parseRuntimeLabel(label: string): RuntimeRequirement | null {
  const match = /^(node|python|go|rust)-(\d{1,4}(?:\.\d{1,4})?)$/.exec(label);
  if (!match) return null;
  const parsed = RuntimeRequirement.safeParse({ name: match[1], version: match[2] });
  return parsed.success ? parsed.data : null;
}

/**
 * The runtime an app's jobs require: its detected (or sparki.yml's `runtimeVersion`) version at
 * label granularity. None when nothing was pinned, when the version is a range or an alias, when
 * the runtime is one runners do not report, or when the source states a minimum rather than a
 * pin (Cargo's `rust-version` is the oldest compiler a crate supports, not the one to build with).
 */
export function runtimeRequirement(app: Pick<DetectedApp, "runtime" | "evidence">): RuntimeRequirement | null {
  const runtime = app.runtime;
  if (!runtime?.version) return null;
  const name = RuntimeName.safeParse(runtime.name);
  if (!name.success) return null;
  const why = app.evidence.find((e) => e.field === "runtime");
  if (name.data === "rust" && why?.reason.startsWith("rust-version")) return null;
  const version = labelVersion(name.data, runtime.version);
  return version === null ? null : { name: name.data, version };
}
