/**
 * Who may import whom (docs/ARCHITECTURE.md, "Layers"). `npm run lint:deps` checks it in CI.
 * Tests may reach test/ helpers and fakes; production code may not.
 */
const entryPoints = "^(workers|durable-objects)/";
const nodeSide = "^(node|runner|cli)/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "core-imports-only-core",
      severity: "error",
      comment: "core/ is runtime-free and depends on nothing else of ours",
      from: { path: "^core/", pathNot: "\\.test\\.ts$" },
      to: { path: "^(server|node|workers|durable-objects|runner|cli|web|dev|bench|test)/" },
    },
    {
      name: "server-below-entry-points",
      severity: "error",
      comment: "server/ sits under workers/ and durable-objects/ and never reaches up or sideways",
      from: { path: "^server/", pathNot: "\\.test\\.ts$" },
      to: { path: "^(node|workers|durable-objects|runner|cli|web|dev|bench|test)/" },
    },
    {
      name: "workers-not-objects",
      severity: "error",
      comment: "the Worker reaches objects through server/objects; only its entry re-exports the classes",
      from: { path: "^workers/", pathNot: "^workers/index\\.ts$" },
      to: { path: "^durable-objects/" },
    },
    {
      name: "objects-not-workers",
      severity: "error",
      comment: "objects use server/ and core/, never the API's internals",
      from: { path: "^durable-objects/" },
      to: { path: "^workers/" },
    },
    {
      name: "planner-imports-only-core",
      severity: "error",
      comment: "the planner Worker is detection and sparki.yml over core/; the API reaches it by its service binding",
      from: { path: "^planner/", pathNot: "(\\.test\\.ts|^planner/build\\.ts)$" },
      to: { path: "^(server|node|workers|durable-objects|runner|cli|web|dev|bench|test)/" },
    },
    {
      name: "nothing-imports-the-planner",
      severity: "error",
      comment: "the planner runs as its own Worker: the API calls it through PLANNER, never by import",
      from: { path: "^(core|server|node|workers|durable-objects|runner|cli|web)/" },
      to: { path: "^planner/" },
    },
    {
      name: "node-imports-only-core",
      severity: "error",
      comment: "node/ is what the CLI and runner share",
      from: { path: "^node/", pathNot: "\\.test\\.ts$" },
      to: { path: "^(server|workers|durable-objects|runner|cli|web|dev|bench)/" },
    },
    {
      name: "runner-not-cli",
      severity: "error",
      comment: "the runner ships alone: what it shares with the CLI lives in node/",
      from: { path: "^runner/" },
      to: { path: "^cli/" },
    },
    { name: "cli-not-runner", severity: "error", from: { path: "^cli/" }, to: { path: "^runner/" } },
    {
      name: "node-side-not-server",
      severity: "error",
      comment: "the CLI and runner talk to the API over HTTP, never through server code",
      from: { path: nodeSide, pathNot: "\\.test\\.ts$" },
      to: { path: "^(server|workers|durable-objects)/" },
    },
    {
      name: "edge-not-node-side",
      severity: "error",
      comment: "the Worker and objects run in workerd: no CLI, runner or Node-only shared code",
      from: { path: `${entryPoints}|^server/` },
      to: { path: nodeSide },
    },
    {
      name: "web-not-server",
      severity: "error",
      comment: "the dashboard only knows the public API (and core's contracts)",
      from: { path: "^web/" },
      to: { path: "^(server|workers|durable-objects|node|runner|cli|dev)/" },
    },
    {
      name: "production-not-tests",
      severity: "error",
      comment: "test helpers and fakes stay out of shipped code",
      from: { path: "^(core|server|node|workers|durable-objects|runner|cli|web)/", pathNot: "(\\.test\\.ts|\\.test\\.tsx|/testing/.*|\\.typecheck\\.ts)$" },
      to: { path: "^test/|/testing/" },
    },
    {
      name: "resolvable",
      severity: "error",
      comment: "an import the checker cannot resolve would slip past every rule above",
      from: {},
      // The bins' bundles (./dist/*.js) exist only once built (dev/bins.ts); a fresh clone has none.
      to: { couldNotResolve: true, pathNot: "^(cloudflare:|node:|\\./dist/)" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|web/dist|\\.wrangler|\\.sparki)|/fixtures/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      extensions: [".ts", ".tsx", ".js", ".mjs"],
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "workerd", "worker", "default", "types"],
    },
  },
};
