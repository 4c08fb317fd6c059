import { describe, expect, it } from "vitest";
import { describeError, Logger, LogLine, type LogLevel } from "./logger.ts";

function capture(level: LogLevel = "debug") {
  const written: { level: LogLevel; line: string }[] = [];
  const log = new Logger({ service: "sparki-api", component: "test", correlationId: "req_1" }, level, (l, line) => written.push({ level: l, line }));
  return { log, written };
}

describe("Logger", () => {
  it("writes one JSON line in the seed's format, fields it does not know as null", () => {
    const { log, written } = capture();
    log.info("build started", { build_id: "b1", duration_ms: 12 });
    expect(written).toHaveLength(1);
    const line = LogLine.parse(JSON.parse(written[0]?.line ?? ""));
    expect(line).toMatchObject({
      level: "INFO",
      service: "sparki-api",
      component: "test",
      correlation_id: "req_1",
      trace_id: null,
      user_id: null,
      workspace_id: null,
      message: "build started",
      metadata: { build_id: "b1", duration_ms: 12 },
    });
    expect(written[0]?.line).not.toContain("\n");
  });

  it("leaves out levels below its own", () => {
    const { log, written } = capture("warn");
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    expect(written.map((w) => w.level)).toEqual(["warn", "error"]);
    expect(written.map((w) => JSON.parse(w.line).level)).toEqual(["WARN", "ERROR"]);
  });

  it("carries what it learns (a workspace after authorization) and a child's narrower fields", () => {
    const { log, written } = capture();
    log.fields.workspaceId = "ws_1";
    log.fields.userId = "u_1";
    log.child({ component: "job", correlationId: "build_1", traceId: "0af7651916cd43dd8448eb211c80319c" }).info("claimed");
    log.info("after");
    const [child, parent] = written.map((w) => LogLine.parse(JSON.parse(w.line)));
    expect(child).toMatchObject({
      component: "job",
      correlation_id: "build_1",
      trace_id: "0af7651916cd43dd8448eb211c80319c",
      workspace_id: "ws_1",
      user_id: "u_1",
    });
    expect(parent).toMatchObject({ component: "test", correlation_id: "req_1", trace_id: null });
  });

  it("the schema refuses a line without the seed's fields", () => {
    expect(LogLine.safeParse({ timestamp: new Date().toISOString(), level: "INFO", message: "x" }).success).toBe(false);
    expect(describeError(new Error("boom", { cause: new Error("below") }))).toMatchObject({ error: "boom", name: "Error", cause: "below" });
  });
});
