import type { Command } from "commander";
import { configPath, saveConfig } from "../config.ts";
import { act } from "../context.ts";
import { requireId } from "../endpoints.ts";
import { UserError } from "../../node/user-error.ts";

export function registerTui(program: Command): void {
  program
    .command("tui")
    .description("a keyboard-driven terminal UI: projects, pipelines, builds, live logs, deployments (? shows the keys)")
    .option("--build <build>", "open on this build's log")
    .action(
      act(async ({ api, settings, opts }) => {
        if (!process.stdin.isTTY || !process.stdout.isTTY) throw new UserError("sparki tui needs a terminal (stdin and stdout)", 2);
        api.requireToken();
        const buildId = opts.build === undefined ? undefined : requireId("build", String(opts.build));
        // Loaded only here: the other commands never pay for React.
        const [{ render }, { createElement }, { App }, { apiSource }] = await Promise.all([
          import("ink"),
          import("react"),
          import("../tui/app.ts"),
          import("../tui/source.ts"),
        ]);
        const source = apiSource(api, (id) => saveConfig({ ...settings.saved, workspaceId: id }));
        const app = render(
          createElement(App, {
            source,
            workspaceId: settings.workspaceId,
            configFile: configPath(),
            width: Math.max(80, process.stdout.columns ?? 80),
            height: Math.max(24, process.stdout.rows ?? 24),
            initialTab: buildId ? "logs" : "overview",
            initialBuildId: buildId,
          }),
        );
        await app.waitUntilExit();
      }),
    );
}
