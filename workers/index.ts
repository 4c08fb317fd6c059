import { createApp } from "./app.js";
import type { Bindings } from "./env.js";
import { consumeEvents } from "./queue.js";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: consumeEvents,
} satisfies ExportedHandler<Bindings>;
