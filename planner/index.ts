/**
 * The planner Worker: detection and sparki.yml, behind the API's PLANNER service binding.
 *
 * The detector and the YAML and TOML parsers are over a sixth of what the API Worker would carry,
 * and only POST /detect and PUT /pipeline use them; here they stay out of every other request's
 * isolate. Parsing users' files in an isolate of its own also keeps a parser's worst case (deep
 * YAML, huge manifests) off the API's CPU. Reachable only through the binding: no routes, and
 * its fetch handler answers 404.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { PlanRequest, type PlanOutcome, type PlannerRpc } from "../core/planner/contract.ts";
import { plan } from "../core/planner/plan.ts";

export class Planner extends WorkerEntrypoint implements PlannerRpc {
  async plan(request: PlanRequest): Promise<PlanOutcome> {
    return plan(PlanRequest.parse(request));
  }
}

export default class extends WorkerEntrypoint {
  override async fetch(): Promise<Response> {
    return new Response("Not found: the planner answers its service binding only.\n", { status: 404 });
  }
}
