/**
 * Project notifications: channels (an outgoing webhook signed like the push hook, or a Slack
 * incoming webhook) told when a build fails, a build is fixed, a deployment is rolled back or a
 * stage waits for approval; and the log of what each channel was sent.
 */
import { z } from "zod";
import { channelKinds, deliveryStatuses, notificationEvents } from "../notifications/events.js";
import { Timestamp } from "./common.js";

export { notificationEvents };
export const NotificationEventName = z.enum(notificationEvents);
export type NotificationEventName = z.infer<typeof NotificationEventName>;

export const ChannelKind = z.enum(channelKinds);
export type ChannelKind = z.infer<typeof ChannelKind>;

/** Headers of a webhook delivery: the signature is the push hook's (HMAC-SHA256 of the body). */
export const notifyHeaders = { signature: "x-sparki-signature-256", delivery: "x-sparki-delivery", event: "x-sparki-event" } as const;

const ChannelName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[\w.#@-][\w .#@-]*$/, "may contain letters, digits, spaces and . _ # @ -");

/** The URL is checked against the outbound policy by the route (it depends on the instance). */
const ChannelUrl = z.string().max(2000);

const Events = z.array(NotificationEventName).min(1).max(notificationEvents.length);

export const CreateChannel = z.strictObject({
  kind: ChannelKind,
  name: ChannelName.optional(),
  url: ChannelUrl,
  /** Every event when left out. */
  events: Events.optional(),
});
export type CreateChannel = z.infer<typeof CreateChannel>;

export const UpdateChannel = z
  .strictObject({ name: ChannelName.optional(), events: Events.optional(), enabled: z.boolean().optional() })
  .refine((b) => Object.keys(b).length > 0, "names at least one of name, events, enabled");
export type UpdateChannel = z.infer<typeof UpdateChannel>;

/** A channel as the API shows it: never the URL's path or query, never the signing key. */
export const Channel = z
  .object({
    id: z.uuid(),
    projectId: z.uuid(),
    kind: ChannelKind,
    name: z.string(),
    /** Scheme and host of the URL; the rest may be a credential. */
    urlHint: z.string(),
    events: z.array(NotificationEventName),
    enabled: z.boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: "NotificationChannel" });
export type Channel = z.infer<typeof Channel>;

export const ChannelList = z.object({ items: z.array(Channel) });

/** The answer to a create: a webhook's signing key appears here and nowhere else, ever. */
export const ChannelCreated = Channel.extend({ signingSecret: z.string().nullable() });
export type ChannelCreated = z.infer<typeof ChannelCreated>;

export const DeliveryStatus = z.enum(deliveryStatuses);

export const Delivery = z
  .object({
    id: z.uuid(),
    channelId: z.uuid(),
    event: NotificationEventName.or(z.literal("ping")),
    status: DeliveryStatus,
    attempts: z.number().int(),
    /** The channel's last HTTP status, null when it gave none (unreachable, timed out, refused by policy). */
    responseStatus: z.number().int().nullable(),
    error: z.string().nullable(),
    createdAt: Timestamp,
    lastAttemptAt: Timestamp.nullable(),
    nextAttemptAt: Timestamp.nullable(),
    deliveredAt: Timestamp.nullable(),
  })
  .meta({ id: "NotificationDelivery" });
export type Delivery = z.infer<typeof Delivery>;

export const DeliveryList = z.object({ items: z.array(Delivery), nextCursor: z.string().nullable() });

/**
 * The JSON body of a webhook delivery (and what a Slack message is written from). `id` is also
 * the X-Sparki-Delivery header: the same on every attempt, so a receiver can drop repeats.
 */
export const NotificationPayload = z.object({
  id: z.uuid(),
  event: NotificationEventName.or(z.literal("ping")),
  occurredAt: Timestamp,
  project: z.object({ id: z.uuid(), name: z.string() }),
  build: z
    .object({
      id: z.uuid(),
      number: z.number().int().nullable(),
      status: z.string(),
      branch: z.string().nullable(),
      commitSha: z.string().nullable(),
      error: z.string().nullable(),
    })
    .optional(),
  deployment: z
    .object({
      id: z.uuid(),
      buildId: z.uuid(),
      status: z.string(),
      /** The stage waiting for approval, or the stages rolled back. */
      stages: z.array(z.string()),
      reason: z.string().nullable(),
    })
    .optional(),
  /** The dashboard page of the build or deployment (null when the instance has no PUBLIC_URL). */
  url: z.string().nullable(),
});
export type NotificationPayload = z.infer<typeof NotificationPayload>;
