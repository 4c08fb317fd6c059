/**
 * The notification answers as the dashboard reads them (contract: core/contracts/notifications.ts),
 * with the guards of check.ts; web/contracts.typecheck.ts holds them to the zod types.
 */
import { channelKinds, deliveryStatuses, notificationEvents } from "../../core/notifications/events.ts";
import { arr, bool, nullable, num, obj, oneOf, str } from "./check.ts";

const EventName = oneOf(notificationEvents);

export const Channel = obj({
  id: str,
  projectId: str,
  kind: oneOf(channelKinds),
  name: str,
  urlHint: str,
  events: arr(EventName),
  enabled: bool,
  createdAt: str,
  updatedAt: str,
});
export const ChannelList = obj({ items: arr(Channel) });
export const ChannelCreated = obj({ id: str, name: str, kind: oneOf(channelKinds), signingSecret: nullable(str) });

export const Delivery = obj({
  id: str,
  channelId: str,
  event: oneOf([...notificationEvents, "ping"] as const),
  status: oneOf(deliveryStatuses),
  attempts: num,
  responseStatus: nullable(num),
  error: nullable(str),
  createdAt: str,
  lastAttemptAt: nullable(str),
  nextAttemptAt: nullable(str),
  deliveredAt: nullable(str),
});
export const DeliveryList = obj({ items: arr(Delivery), nextCursor: nullable(str) });
