/**
 * The adapters by platform id. Cloud adapters talk to the platform with the given fetch;
 * sparki-static works on this instance's R2 and Postgres; script runs on the user's runners.
 */
import type { PlatformAdapter, PlatformId } from "../../core/deploy/adapter.ts";
import { flyAdapter } from "./adapters/fly.js";
import { railwayAdapter } from "./adapters/railway.js";
import { renderAdapter } from "./adapters/render.js";
import { scriptAdapter, type ScriptDeps } from "./adapters/script.js";
import { sparkiStaticAdapter, type SparkiStaticDeps } from "./adapters/sparki-static.js";
import { vercelAdapter } from "./adapters/vercel.js";

export function adapterFor(platform: PlatformId, staticDeps: SparkiStaticDeps, scriptDeps: ScriptDeps): PlatformAdapter {
  switch (platform) {
    case "sparki-static":
      return sparkiStaticAdapter(staticDeps);
    case "railway":
      return railwayAdapter;
    case "render":
      return renderAdapter;
    case "fly":
      return flyAdapter;
    case "vercel":
      return vercelAdapter;
    case "script":
      return scriptAdapter(scriptDeps);
  }
}
