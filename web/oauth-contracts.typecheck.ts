/** Compile-time only, as contracts.typecheck.ts: the sign-in guards yield the zod contracts' types. */
import type { z } from "zod";
import type * as oauth from "../core/contracts/oauth.ts";
import type { Out } from "./src/contracts.ts";
import type * as web from "./src/oauth-contracts.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Same<Zod extends z.ZodType, Guard> = Equal<z.output<Zod>, Out<Guard>>;

export const checks: true[] = [
  true satisfies Same<typeof oauth.AuthProviders, typeof web.AuthProviders>,
  true satisfies Same<typeof oauth.PendingLink, typeof web.PendingLink>,
  true satisfies Same<typeof oauth.Identities, typeof web.Identities>,
  true satisfies Same<typeof oauth.LinkStart, typeof web.LinkStart>,
];
