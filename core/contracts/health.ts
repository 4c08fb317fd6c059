import { z } from "zod";

const Check = z.object({ ok: z.boolean(), latencyMs: z.number(), error: z.string().optional() });
export const Health = z.object({
  status: z.enum(["ok", "degraded"]),
  checks: z.object({ database: Check, cache: Check }),
});
export type Health = z.infer<typeof Health>;
