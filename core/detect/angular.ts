import { isTable } from "./manifest.ts";
import type { Finding, NodeProject } from "./node-frameworks.ts";

/**
 * Angular's deployable directory from angular.json. The esbuild `application`
 * builder (Angular 17+) writes browser files to `<outputPath>/browser`; the older
 * `browser` builder writes straight to `outputPath`. The project is the
 * `defaultProject`, else the first with projectType "application".
 */
export async function angularOutput(p: NodeProject): Promise<Finding<string | null>> {
  const file = p.ctx.path("angular.json");
  const config = await p.ctx.readJson("angular.json");
  if (!isTable(config) || !isTable(config.projects)) {
    return { value: "dist", file: p.ctx.path("package.json"), reason: "no readable angular.json; Angular builds under dist/" };
  }
  const projects = config.projects;
  const names = Object.keys(projects);
  const chosen =
    (typeof config.defaultProject === "string" && config.defaultProject in projects ? config.defaultProject : undefined) ??
    names.find((n) => {
      const proj = projects[n];
      return isTable(proj) && proj.projectType === "application";
    }) ??
    names[0];
  if (!chosen) return { value: "dist", file, reason: "angular.json lists no project; Angular builds under dist/" };
  const project = projects[chosen];
  const architect = isTable(project) ? (project.architect ?? project.targets) : undefined;
  const build = isTable(architect) ? architect.build : undefined;
  const builder = isTable(build) && typeof build.builder === "string" ? build.builder : "";
  const options = isTable(build) && isTable(build.options) ? build.options : {};
  const outputPath = options.outputPath;
  const applicationBuilder = builder === "" || builder.endsWith(":application");

  if (isTable(outputPath)) {
    const base = typeof outputPath.base === "string" ? outputPath.base : `dist/${chosen}`;
    const browser = typeof outputPath.browser === "string" ? outputPath.browser : "browser";
    const dir = browser === "" ? base : `${base}/${browser}`;
    return { value: dir, file, reason: `project ${chosen}: outputPath.base ${base}, browser files in ${dir}` };
  }
  const base = typeof outputPath === "string" ? outputPath.replace(/\/$/, "") : `dist/${chosen}`;
  if (applicationBuilder) {
    return { value: `${base}/browser`, file, reason: `project ${chosen} uses the application builder: browser files in ${base}/browser` };
  }
  return { value: base, file, reason: `project ${chosen} uses ${builder}, which writes to outputPath ${base}` };
}
