/**
 * Hostile values for sweeps: bad percent-encoding, NUL and other control characters, traversal,
 * oversized and malformed ids, invalid git ref names, and a YAML alias bomb, plus request bodies
 * built from a route's JSON Schema with every text field set to one of them.
 */

/** Path segments and query values, already in URL form (some deliberately badly encoded). */
export const hostileSegments = [
  "%",
  "%ZZ",
  "%E0%A4%A",
  "%00",
  "a%00b",
  "%0A%0D",
  "..%2F..%2Fv1%2Fme",
  "00000000-0000-0000-0000-000000000000",
  `${"0".repeat(8)}-0000-0000-0000-${"0".repeat(12)}.999999999999999999999`,
  "x".repeat(2048),
];

/** Query values: the encodings and sizes that break parsers. */
export const hostileQueryValues = ["%", "%E0%A4%A", "%00", "a%00b", "%0A%0D", "1e309", "-1", "x".repeat(2048)];

/** A billion laughs: a few hundred bytes of YAML that expand to gigabytes if aliases are followed. */
export const yamlAliasBomb = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
  "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
  "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
  "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
  "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]",
  "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]",
  "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]",
  "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]",
  "pipeline: *i",
].join("\n");

/** Text values for JSON fields. */
export const hostileStrings = [
  "\u0000",
  "a\u0000b",
  "line\nbreak\r\u0001\u001b[31m",
  "\ud800",
  "refs/heads/../x",
  "bad..ref",
  "@{-1}",
  "x".repeat(100_000),
  yamlAliasBomb,
  "a: [unclosed",
];

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
}

function resolve(schema: JsonSchema | undefined, components: Record<string, JsonSchema>, depth: number): JsonSchema | undefined {
  if (!schema || depth > 8) return undefined;
  if (schema.$ref) return resolve(components[schema.$ref.split("/").pop() ?? ""], components, depth + 1);
  return schema;
}

/** A value of the schema's shape whose every text field is `text`. */
function sample(schema: JsonSchema | undefined, components: Record<string, JsonSchema>, text: string, depth = 0): unknown {
  const s = resolve(schema, components, depth);
  if (!s) return text;
  const alternatives = s.anyOf ?? s.oneOf ?? s.allOf;
  if (alternatives?.length) return sample(alternatives[0], components, text, depth + 1);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  if (type === "object" || s.properties) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(s.properties ?? {})) out[key] = sample(value, components, text, depth + 1);
    return out;
  }
  if (type === "array") return [sample(s.items, components, text, depth + 1)];
  if (type === "integer" || type === "number") return 1;
  if (type === "boolean") return true;
  return text;
}

/** Bodies for one route: its shape filled with each hostile string, wrong types, and broken JSON. */
export function bodyVariants(schema: JsonSchema | undefined, components: Record<string, JsonSchema>): string[] {
  const bodies = hostileStrings.map((text) => JSON.stringify(sample(schema, components, text)));
  bodies.push("[]", "null", '"x"', "1e999", '{"__proto__":{"admin":true}}', "{", "\u0000", JSON.stringify({ a: "b".repeat(10) }));
  return bodies;
}
