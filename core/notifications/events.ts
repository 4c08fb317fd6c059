/** The names notifications use, without zod, so the dashboard can import them for nothing. */
export const notificationEvents = ["build.failed", "build.fixed", "deployment.rolled_back", "approval.waiting"] as const;
export const channelKinds = ["webhook", "slack"] as const;
export const deliveryStatuses = ["pending", "delivered", "failed"] as const;
