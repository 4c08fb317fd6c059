import { spawn } from "node:child_process";
import { afterEach, expect, it } from "vitest";
import { until } from "../test/until.ts";
import { groupMembers, processReport } from "./process-report.ts";

const children: number[] = [];
afterEach(() => {
  for (const pid of children.splice(0)) process.kill(-pid, "SIGKILL");
});

it("reports each live process of a group: its state, where it waits, CPU and memory", async () => {
  // A group of its own holding a shell and the sleep it waits on.
  const child = spawn("sh", ["-c", "sleep 30 & wait"], { detached: true, stdio: "ignore" });
  children.push(child.pid!);
  // Waits for the sleep to be asleep: just after exec it can still read as running.
  const lines = await until("the shell's sleep to be asleep", () => {
    const report = processReport(child.pid!);
    return groupMembers(child.pid!).length === 2 && report.some((l) => /^sleep\[\d+\] state S/.test(l)) && report;
  });
  expect(lines).toHaveLength(2);
  expect(lines.find((l) => l.startsWith("sleep["))).toMatch(/^sleep\[\d+\] state S, waiting in \S+, user \d+\.\d s, system \d+\.\d s, rss \d+ MiB$/);
  expect(lines.find((l) => l.startsWith(`sh[${child.pid}]`))).toBeDefined();
});

it("reports nothing for a group that has no process", () => {
  expect(processReport(2 ** 22 + 12345)).toEqual([]);
});
