/**
 * The fake's webhook payloads against GitHub's published shapes (@octokit/webhooks-schemas, the
 * bundle of github:octokit/webhooks payload-schemas). The payloads are trimmed on purpose, so
 * required fields are not demanded; every field they do carry must exist in the schema (where the
 * schema closes its objects) with the documented type and enum, so a misnamed or mistyped field
 * fails here instead of passing a consumer's test.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeGitHub } from "./github.ts";
import { installationPayload, installationRepositoriesPayload, pullRequestPayload, pushPayload } from "./github-webhooks.ts";

type Schema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
};

const bundle = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("@octokit/webhooks-schemas/schema.json"), "utf8")) as {
  definitions: Record<string, Schema>;
};

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** What in `v` contradicts `s` (types, enums, fields the schema does not have); required fields are not checked. */
function problems(v: unknown, s: Schema, at: string): string[] {
  if (s.$ref) return problems(v, bundle.definitions[s.$ref.replace("#/definitions/", "")] ?? {}, at);
  const out: string[] = [];
  if (s.allOf) for (const sub of s.allOf) out.push(...problems(v, sub, at));
  for (const alts of [s.oneOf, s.anyOf]) if (alts && !alts.some((sub) => problems(v, sub, at).length === 0)) out.push(`${at}: fits none of its alternatives`);
  if (s.type) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    const t = typeOf(v);
    if (!types.includes(t) && !(t === "integer" && types.includes("number"))) return [...out, `${at}: ${t}, documented as ${types.join("|")}`];
  }
  if (s.enum && !s.enum.includes(v)) out.push(`${at}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`);
  if (s.const !== undefined && s.const !== v) out.push(`${at}: ${JSON.stringify(v)} is not ${JSON.stringify(s.const)}`);
  if (typeOf(v) === "object" && (s.properties || s.additionalProperties === false)) {
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      const sub = s.properties?.[k];
      if (sub) out.push(...problems(child, sub, `${at}.${k}`));
      else if (s.additionalProperties === false && !s.allOf) out.push(`${at}.${k}: not a documented field`);
    }
  }
  if (Array.isArray(v) && s.items) for (const [i, x] of v.entries()) out.push(...problems(x, s.items, `${at}[${i}]`));
  return out;
}

const gh = new FakeGitHub();
let installationId: number;
beforeAll(async () => {
  await gh.start();
  const app = gh.addApp();
  gh.addOrg("acme", ["mona"]);
  gh.addUser("mona", { emails: [{ email: "mona@example.com", primary: true, verified: true, visibility: "public" }] });
  gh.addRepo("acme/shop", { private: true });
  gh.addRepo("mona/shop", { forkOf: "acme/shop" });
  installationId = gh.install(app, "acme", { repositories: ["acme/shop"] }).id;
});
afterAll(() => gh.close());

describe("the fake's webhook payloads fit GitHub's published schemas", () => {
  it("knows the schema bundle (a check of the checker)", () => {
    expect(problems({ ref: 1 }, { $ref: "#/definitions/push$event" }, "push")).toEqual(["push.ref: integer, documented as string"]);
    expect(problems({ refs: "x" }, { $ref: "#/definitions/push$event" }, "push")).toEqual(["push.refs: not a documented field"]);
  });

  const cases: [string, () => unknown][] = [
    ["push$event", () => pushPayload(gh, { repo: "acme/shop", ref: "refs/heads/main", installationId })],
    ["push$event", () => pushPayload(gh, { repo: "acme/shop", ref: "refs/heads/gone", deleted: true, installationId })],
    ["push$event", () => pushPayload(gh, { repo: "acme/shop", ref: "refs/tags/v1", created: true, installationId })],
    ["pull_request$opened", () => pullRequestPayload(gh, { repo: "acme/shop", action: "opened", number: 1, headRef: "f", installationId })],
    ["pull_request$synchronize", () => pullRequestPayload(gh, { repo: "acme/shop", action: "synchronize", number: 1, headRef: "f", installationId })],
    ["pull_request$reopened", () => pullRequestPayload(gh, { repo: "acme/shop", action: "reopened", number: 1, headRef: "f", installationId })],
    ["pull_request$closed", () => pullRequestPayload(gh, { repo: "acme/shop", action: "closed", number: 1, headRef: "f", merged: true, installationId })],
    [
      "pull_request$opened",
      () => pullRequestPayload(gh, { repo: "acme/shop", action: "opened", number: 2, headRef: "main", headRepo: "mona/shop", installationId }),
    ],
    ["installation$created", () => installationPayload(gh, { action: "created", installationId })],
    ["installation$deleted", () => installationPayload(gh, { action: "deleted", installationId })],
    ["installation_repositories$added", () => installationRepositoriesPayload(gh, { action: "added", installationId, repos: ["mona/shop"] })],
    ["installation_repositories$removed", () => installationRepositoriesPayload(gh, { action: "removed", installationId, repos: ["mona/shop"] })],
  ];
  for (const [definition, make] of cases) {
    it(definition, () => {
      expect(bundle.definitions[definition]).toBeDefined();
      expect(problems(make(), { $ref: `#/definitions/${definition}` }, definition)).toEqual([]);
    });
  }
});
