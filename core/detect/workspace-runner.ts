import type { NodePmChoice, ScriptRunner } from "./node-package-manager.ts";
import { pmRunner } from "./node-package-manager.ts";

/** The monorepo build tool at the root, if any. */
export type MonorepoTool = "turborepo" | "nx" | null;

/**
 * Commands for one workspace member, run from the repository root: the member's
 * scripts go through the root's tool (so Turborepo/Nx build internal packages
 * first), else through the package manager's own workspace filter.
 */
export function memberRunner(
  choice: NodePmChoice,
  tool: MonorepoTool,
  name: string | null,
  dir: string,
  turboTasks: ReadonlySet<string> = new Set(),
): ScriptRunner {
  const root = pmRunner(choice);
  const id = name ?? dir;
  const inMember = (command: string): string => {
    switch (choice.pm) {
      case "pnpm":
        return `pnpm --filter ${id} exec ${command}`;
      case "npm":
        return `npm exec -w ${dir} -- ${command}`;
      case "yarn":
        return choice.berry ? `yarn workspace ${id} exec ${command}` : `yarn workspace ${id} ${command}`;
      case "bun":
        return `cd ${dir} && bunx ${command}`;
      default: {
        const never: never = choice.pm;
        throw new Error(`unknown package manager ${String(never)}`);
      }
    }
  };
  const viaPm = (script: string): string => {
    switch (choice.pm) {
      case "pnpm":
        return `pnpm --filter ${id} run ${script}`;
      case "npm":
        return `npm run ${script} -w ${dir}`;
      case "yarn":
        return `yarn workspace ${id} run ${script}`;
      case "bun":
        return `bun run --filter ${id} ${script}`;
      default: {
        const never: never = choice.pm;
        throw new Error(`unknown package manager ${String(never)}`);
      }
    }
  };
  // turbo refuses tasks that turbo.json does not declare (start usually is not), so those go through the package manager.
  const run =
    tool === "turborepo"
      ? (script: string) => (turboTasks.has(script) ? root.exec(`turbo run ${script} --filter=${id}`) : viaPm(script))
      : tool === "nx"
        ? (script: string) => root.exec(`nx run ${id}:${script}`)
        : viaPm;
  return { install: root.install, run, exec: inMember };
}

/** Root-level commands that run a script across every member. */
export function rootRunAll(choice: NodePmChoice, tool: MonorepoTool, script: string, turboTasks: ReadonlySet<string> = new Set()): string {
  const root = pmRunner(choice);
  if (tool === "turborepo" && turboTasks.has(script)) return root.exec(`turbo run ${script}`);
  if (tool === "nx") return root.exec(`nx run-many -t ${script}`);
  switch (choice.pm) {
    case "pnpm":
      return `pnpm -r run ${script}`;
    case "npm":
      return `npm run ${script} --workspaces --if-present`;
    case "yarn":
      return choice.berry ? `yarn workspaces foreach -A run ${script}` : `yarn workspaces run ${script}`;
    case "bun":
      return `bun run --filter '*' ${script}`;
    default: {
      const never: never = choice.pm;
      throw new Error(`unknown package manager ${String(never)}`);
    }
  }
}
