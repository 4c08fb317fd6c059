/**
 * The push hook: any git server tells Sparki about a pushed ref with a call signed by the
 * project's hook key (`X-Sparki-Signature-256: sha256=<hex HMAC-SHA256 of the body>`), and a
 * fresh `X-Sparki-Delivery` id per call so a retried call starts nothing twice.
 */
import { z } from "zod";
import { BranchName, Timestamp } from "./common.js";

export const signatureHeader = "x-sparki-signature-256";
export const deliveryHeader = "x-sparki-delivery";

/** The most a push call's body may be: `{ref, before, after}` with a 255-character ref fits in far less. */
export const pushBodyMaxBytes = 4096;

/** `sha256=` and 64 lowercase or uppercase hex digits. */
export const SignatureValue = z.string().regex(/^sha256=[0-9a-fA-F]{64}$/);

/** A caller-chosen delivery id: a UUID or any short token of safe characters. */
export const DeliveryId = z
  .string()
  .min(8)
  .max(100)
  .regex(/^[A-Za-z0-9._:-]+$/, "is letters, digits and . _ : - only");

/** A full commit id: SHA-1 (40) or SHA-256 (64) repositories. */
const CommitId = z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, "must be a full 40- or 64-character lowercase hex commit id");

/** The ref a push updated: a branch or a tag, its name as git allows it. */
export const PushedRef = z
  .string()
  .max(300)
  .regex(/^refs\/(heads|tags)\//, "must be refs/heads/<branch> or refs/tags/<tag>")
  .refine((ref) => BranchName.safeParse(ref.replace(/^refs\/(heads|tags)\//, "")).success, "names no valid branch or tag");

export const PushBody = z.strictObject({ ref: PushedRef, before: CommitId, after: CommitId });
export type PushBody = z.infer<typeof PushBody>;

/** `after` of a deleted ref: every digit zero. */
export function isDeletion(sha: string): boolean {
  return /^0+$/.test(sha);
}

export const DeliveryOutcome = z.enum(["started", "ignored", "failed"]);

/** What the push call answers: what the delivery did (the first time it was received). */
export const PushResult = z
  .object({
    delivery: z.string(),
    outcome: DeliveryOutcome,
    /** Why nothing was started, when nothing was. */
    detail: z.string().nullable(),
    buildId: z.uuid().nullable(),
    /** The same delivery id was received before; this call changed nothing. */
    duplicate: z.boolean(),
  })
  .meta({ id: "PushResult" });
export type PushResult = z.infer<typeof PushResult>;

/** A new or rotated hook: the only time its key is shown. */
export const PushHookCreated = z
  .object({
    url: z.string().describe("Where the git server sends its calls."),
    secret: z.string().describe("The HMAC key; shown this once, never again."),
    createdAt: Timestamp,
  })
  .meta({ id: "PushHookCreated" });

export const HookDelivery = z
  .object({
    delivery: z.string(),
    event: z.string(),
    outcome: DeliveryOutcome,
    detail: z.string().nullable(),
    buildId: z.uuid().nullable(),
    receivedAt: Timestamp,
  })
  .meta({ id: "HookDelivery" });

export const PushHookInfo = z
  .object({
    url: z.string(),
    /** Whether the project has a push hook; its key is never shown here. */
    exists: z.boolean(),
    createdAt: Timestamp.nullable(),
    updatedAt: Timestamp.nullable(),
    /** The newest deliveries first (at most 20). */
    deliveries: z.array(HookDelivery),
  })
  .meta({ id: "PushHookInfo" });
export type PushHookInfo = z.infer<typeof PushHookInfo>;
