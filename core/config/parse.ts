import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import type { z } from "zod";
import { loneSurrogate } from "../contracts/common.ts";
import { SparkiConfigSchema, type SparkiConfig } from "./schema.ts";

/** One problem in a sparki.yml, located by 1-based line and column. */
export interface ConfigIssue {
  /** Dotted path of the offending key ("deployments.0.platform"), "" for the document. */
  path: string;
  line: number;
  column: number;
  message: string;
}

/** The parse outcome: a valid config, or every problem found. */
export type ConfigParseResult = { ok: true; config: SparkiConfig } | { ok: false; issues: ConfigIssue[] };

/**
 * Parses sparki.yml text: YAML syntax first (duplicate keys are errors), then the
 * zod schema. Every issue names its line and column so the CLI and the API's
 * 400 response can point at the exact spot.
 */
export function parseSparkiConfig(text: string): ConfigParseResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => {
        const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
        return { path: "", line: pos.line, column: pos.col, message: e.message.split("\n")[0] ?? e.message };
      }),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS() ?? {};
  } catch (err) {
    // The YAML library refuses to expand aliases past a limit (a "billion laughs" file): the
    // file is at fault, so it is an issue of the file, at the top of it.
    const pos = lines.linePos(0);
    return { ok: false, issues: [{ path: "", line: pos.line, column: pos.col, message: err instanceof Error ? err.message : String(err) }] };
  }
  const unstorable = findUnstorableText(data);
  if (unstorable) {
    const message = "holds a NUL or a lone surrogate, which Sparki cannot store";
    return { ok: false, issues: [locate(doc, lines, { code: "custom", path: unstorable, message })] };
  }
  const parsed = SparkiConfigSchema.safeParse(data);
  if (parsed.success) return { ok: true, config: parsed.data };
  return { ok: false, issues: parsed.error.issues.map((issue) => locate(doc, lines, issue)) };
}

// YAML's "\0" and "\ud800" escapes make text Postgres refuses; caught here, the file is named as the fault.
const UNSTORABLE = new RegExp(`\u0000|${loneSurrogate.source}`);

/** The path of the first key or string value that Postgres could not store, if any. */
function findUnstorableText(value: unknown, path: (string | number)[] = []): (string | number)[] | undefined {
  if (typeof value === "string") return UNSTORABLE.test(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findUnstorableText(item, [...path, i]);
      if (found) return found;
    }
  } else if (value && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (UNSTORABLE.test(key)) return path;
      const found = findUnstorableText(item, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

/** Finds the YAML node a zod issue is about, walking up to the nearest node that exists. */
function locate(doc: Document, lines: LineCounter, issue: z.core.$ZodIssue | { code: "custom"; path: (string | number)[]; message: string }): ConfigIssue {
  const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
  let offset = 0;
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (node && typeof node === "object" && "range" in node && Array.isArray(node.range)) {
      offset = node.range[0] as number;
      // For a missing or unknown key, point at the key itself inside its parent map.
      if (issue.code === "unrecognized_keys" && isMap(node)) {
        const key = issue.keys[0];
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
        if (pair && isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
      } else if (depth === path.length && isScalar(node) === false && depth > 0) {
        const parent = doc.getIn(path.slice(0, depth - 1), true);
        const key = path[depth - 1];
        if (isMap(parent)) {
          const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
          if (pair && isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
        }
      }
      break;
    }
  }
  const pos = lines.linePos(offset);
  const message = issue.code === "unrecognized_keys" ? `unknown key ${issue.keys.map((k) => `"${k}"`).join(", ")}` : issue.message;
  return { path: path.join("."), line: pos.line, column: pos.col, message };
}

/** One line per issue, `sparki.yml:3:5: message (path)`, for terminals and logs. */
export function formatConfigIssues(issues: readonly ConfigIssue[], file = "sparki.yml"): string {
  return issues.map((i) => `${file}:${i.line}:${i.column}: ${i.message}${i.path ? ` (${i.path})` : ""}`).join("\n");
}
