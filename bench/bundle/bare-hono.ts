/** bench/bundle's baseline: the smallest Hono Worker, built with the same settings as Sparki's. */
import { Hono } from "hono";

const app = new Hono();
app.get("/healthz", (c) => c.json({ ok: true }));

export default app;
