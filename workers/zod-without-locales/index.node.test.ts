import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as real from "zod";
import * as slim from "./index.ts";

/** What the Worker's zod leaves out (index.ts). */
const omitted = ["core", "fromJSONSchema", "locales", "toJSONSchema", "compile", "withParser", "INVALID", "ZodCompileAsyncError", "ZodCompileUnsupportedError"];
/** Where code that the Worker bundles lives. */
const bundledDirs = ["workers", "server", "core", "durable-objects"];
/** Modules whose `z` is zod's namespace. */
const zodModules = new Set(["zod", "@hono/zod-openapi"]);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") && !e.name.endsWith(".d.ts"))
    .map((e) => join(e.parentPath, e.name));
}

/** Uses of a left-out name as a value: `z.locales…`, `import { toJSONSchema } from "zod"`. Types (`z.core.$ZodIssue`) are fine. */
function valueUses(file: string, text = readFileSync(file, "utf8")): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const namespaces = new Set<string>();
  const found: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier) || !zodModules.has(statement.moduleSpecifier.text)) continue;
    const clause = statement.importClause;
    if (!clause || clause.isTypeOnly) continue;
    if (clause.name) namespaces.add(clause.name.text);
    const bindings = clause.namedBindings;
    if (bindings && ts.isNamespaceImport(bindings)) namespaces.add(bindings.name.text);
    if (bindings && ts.isNamedImports(bindings))
      for (const spec of bindings.elements) {
        const imported = (spec.propertyName ?? spec.name).text;
        if (spec.isTypeOnly) continue;
        if (imported === "z") namespaces.add(spec.name.text);
        else if (omitted.includes(imported)) found.push(`${file}: imports ${imported}`);
      }
  }
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && namespaces.has(node.expression.text) && omitted.includes(node.name.text))
      found.push(`${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${node.getText()}`);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("the Worker's zod (wrangler.toml [alias])", () => {
  it("exports every name zod's entry does but those left out", () => {
    const expected = Object.keys(real)
      .filter((name) => !omitted.includes(name))
      .sort();
    expect(Object.keys(slim).sort()).toEqual(expected);
    expect(Object.keys(slim.z).sort()).toEqual(expected.filter((name) => name !== "z" && name !== "default"));
    for (const name of omitted) expect(Object.keys(real)).toContain(name);
  });

  it("is zod's own classes, with English messages", () => {
    expect(slim.z.string).toBe(real.z.string);
    expect(slim.ZodError).toBe(real.ZodError);
    const failed = slim.z.object({ name: slim.z.string().min(2) }).safeParse({ name: "a" });
    expect(failed.error?.issues[0]?.message).toBe("Too small: expected string to have >=2 characters");
  });

  it("no code the Worker bundles uses a left-out name as a value", () => {
    const uses = bundledDirs.flatMap((dir) => sources(dir)).flatMap((file) => valueUses(file));
    expect(uses).toEqual([]);
  });

  it("the check sees a left-out name used as a value, and passes over a type", () => {
    const text = [
      'import { z as zod, toJSONSchema } from "zod";',
      'import * as openapi from "@hono/zod-openapi";',
      "type Issue = zod.core.$ZodIssue;",
      "const a = zod.locales.de();",
      "const b = openapi.z.string();",
      "const c = zod.core.$constructor;",
    ].join("\n");
    expect(valueUses("example.ts", text)).toEqual(["example.ts: imports toJSONSchema", "example.ts:4: zod.locales", "example.ts:6: zod.core"]);
  });
});
