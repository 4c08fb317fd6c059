import { describe, expect, it } from "vitest";
import { tracingOff } from "../core/tracing/context.ts";
import { UserError } from "../node/user-error.ts";
import { runnerTracing } from "./tracing.ts";

describe("runnerTracing", () => {
  const warn = () => {};

  it("is off without an endpoint, and loads the recorder only with one", async () => {
    expect(await runnerTracing({}, warn)).toBe(tracingOff);
    const on = await runnerTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_TRACES_SAMPLER_ARG: "0.5" }, warn);
    expect(on.enabled).toBe(true);
  });

  it("refuses a malformed OTEL_* variable with one line naming it", async () => {
    await expect(runnerTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" }, warn)).rejects.toThrow(UserError);
    await expect(runnerTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://collector:21" }, warn)).rejects.toThrow(/^OTEL_EXPORTER_OTLP_ENDPOINT: /);
    await expect(runnerTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_SAMPLER_ARG: "2" }, warn)).rejects.toThrow(
      /^OTEL_TRACES_SAMPLER_ARG: /,
    );
  });
});
