import { z } from "zod";

/** RFC 9457 problem document, as every API error is sent. */
export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().describe("The request id; quote it when reporting a problem."),
    errors: z.array(z.object({ pointer: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: "Problem" });
export type Problem = z.infer<typeof Problem>;

/** `?limit=&cursor=` for every list; cursors are opaque to clients. */
export const PageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.string().max(200).optional(),
});
export type PageQuery = z.infer<typeof PageQuery>;

/** A page of items and the cursor of the next page (null on the last). */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export const Timestamp = z.iso.datetime({ offset: true });

// A lone UTF-16 surrogate cannot be stored as UTF-8 text (Postgres refuses it).
export const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Branch names as git check-ref-format allows them, minus the rarely used oddities. */
export const BranchName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^(?!\/|.*\/\/|.*\.\.|.*@\{|.*\.lock$|.*[/.]$|-)[^\s~^:?*[\\\x00-\x1f\x7f]+$/, "is not a valid git branch name")
  .refine((value) => !loneSurrogate.test(value), "is not a valid git branch name");
