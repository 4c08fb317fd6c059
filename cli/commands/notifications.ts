/**
 * `sparki notifications`: a project's notification channels (outgoing webhooks and Slack
 * incoming webhooks) and what each was sent. A webhook's signing key is printed once, when it is
 * added; a channel's URL is shown by its host only.
 */
import type { Command } from "commander";
import { type Channel, ChannelCreated, ChannelList, DeliveryList, NotificationEventName, notificationEvents } from "../../core/contracts/notifications.ts";
import { UserError } from "../../node/user-error.ts";
import { EXIT, type ApiClient } from "../api.ts";
import { act } from "../context.ts";
import { resolveProject } from "../endpoints.ts";
import { ago, printFields, printJson, printTable, status } from "../output.ts";

const enc = encodeURIComponent;
const base = (projectId: string) => `/v1/projects/${enc(projectId)}/notifications`;

/** The channel whose id starts with `ref` or whose name is `ref`, or a one-line error. */
async function findChannel(api: ApiClient, projectId: string, ref: string): Promise<Channel> {
  const { items } = await api.call("GET", base(projectId), ChannelList);
  const found = items.filter((c) => c.id === ref || c.name === ref || (ref.length >= 4 && c.id.startsWith(ref)));
  if (found.length === 1 && found[0]) return found[0];
  throw new UserError(found.length ? `${ref} names ${found.length} channels; use the id` : `no channel ${ref} (see 'sparki notifications ls')`, EXIT.usage);
}

function parseEvents(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const events = value.split(",").map((e) => e.trim());
  for (const e of events) {
    if (!NotificationEventName.safeParse(e).success) throw new UserError(`unknown event ${e}; choose from ${notificationEvents.join(", ")}`, EXIT.usage);
  }
  return events;
}

export function registerNotifications(program: Command): void {
  const cmd = program.command("notifications").description("where a project's failures, fixes, rollbacks and approvals are announced");
  const project = (opts: Record<string, unknown>, workspaceId: string | undefined, api: ApiClient) =>
    resolveProject(api, opts.project as string | undefined, workspaceId);

  cmd
    .command("ls", { isDefault: true })
    .alias("list")
    .description("list a project's channels")
    .option("--project <project>", "project id or name")
    .action(
      act(async ({ api, settings, json, opts }) => {
        const list = await api.call("GET", base(await project(opts, settings.workspaceId, api)), ChannelList);
        if (json) return printJson(list);
        printTable(
          ["id", "kind", "name", "url", "events", "enabled"],
          list.items.map((c) => [c.id.slice(0, 8), c.kind, c.name, c.urlHint, c.events.join(","), c.enabled ? "yes" : "no"]),
          "no notification channels",
        );
      }),
    );

  cmd
    .command("add")
    .description("add a channel: --webhook <url> (signed; the key is printed once) or --slack <incoming webhook url>")
    .option("--project <project>", "project id or name")
    .option("--webhook <url>", "an https URL that takes signed JSON")
    .option("--slack <url>", "a Slack incoming-webhook URL (https://hooks.slack.com/services/…)")
    .option("--name <name>", "a name to tell channels apart")
    .option("--events <list>", `comma-separated; default all: ${notificationEvents.join(",")}`)
    .action(
      act(async ({ api, settings, json, opts }) => {
        const webhook = opts.webhook as string | undefined;
        const slack = opts.slack as string | undefined;
        if (Boolean(webhook) === Boolean(slack)) throw new UserError("give exactly one of --webhook <url> and --slack <url>", EXIT.usage);
        const events = parseEvents(opts.events as string | undefined);
        const body = { kind: webhook ? "webhook" : "slack", url: webhook ?? slack, ...(opts.name ? { name: opts.name } : {}), ...(events ? { events } : {}) };
        const created = await api.call("POST", base(await project(opts, settings.workspaceId, api)), ChannelCreated, { body });
        if (json) return printJson(created);
        printFields([
          ["id", created.id],
          ["kind", created.kind],
          ["name", created.name],
          ["events", created.events.join(", ")],
        ]);
        if (created.signingSecret) {
          process.stdout.write(
            `\nSigning key (shown only now): ${created.signingSecret}\nEach delivery carries X-Sparki-Signature-256: sha256=<hex HMAC-SHA256 of the body under this key>.\n`,
          );
        }
      }),
    );

  cmd
    .command("rm")
    .alias("remove")
    .description("remove a channel and its delivery log")
    .argument("<channel>", "channel id (or its first characters) or name")
    .option("--project <project>", "project id or name")
    .action(
      act(async ({ api, settings, json, opts }, ref: string) => {
        const projectId = await project(opts, settings.workspaceId, api);
        const channel = await findChannel(api, projectId, ref);
        await api.send("DELETE", `${base(projectId)}/${enc(channel.id)}`);
        if (json) return printJson({ id: channel.id, deleted: true });
        process.stdout.write(`Channel ${channel.name} removed\n`);
      }),
    );

  cmd
    .command("test")
    .description("send a channel a test notification (see its outcome with 'deliveries')")
    .argument("<channel>", "channel id (or its first characters) or name")
    .option("--project <project>", "project id or name")
    .action(
      act(async ({ api, settings, json, opts }, ref: string) => {
        const projectId = await project(opts, settings.workspaceId, api);
        const channel = await findChannel(api, projectId, ref);
        const sent = await api.call("POST", `${base(projectId)}/${enc(channel.id)}/test`, DeliveryList.shape.items.element);
        if (json) return printJson(sent);
        process.stdout.write(`Test notification ${sent.id} queued for ${channel.name}\n`);
      }),
    );

  cmd
    .command("deliveries")
    .description("what a channel was sent, newest first: status, attempts, last HTTP status, error")
    .argument("<channel>", "channel id (or its first characters) or name")
    .option("--project <project>", "project id or name")
    .option("--limit <n>", "how many", "25")
    .action(
      act(async ({ api, settings, json, opts }, ref: string) => {
        const projectId = await project(opts, settings.workspaceId, api);
        const channel = await findChannel(api, projectId, ref);
        const page = await api.call("GET", `${base(projectId)}/${enc(channel.id)}/deliveries`, DeliveryList, { query: { limit: String(opts.limit ?? "25") } });
        if (json) return printJson(page);
        printTable(
          ["id", "event", "status", "attempts", "http", "when", "error"],
          page.items.map((d) => [
            d.id.slice(0, 8),
            d.event,
            status(d.status === "delivered" ? "succeeded" : d.status),
            d.attempts,
            d.responseStatus,
            ago(d.createdAt),
            d.error,
          ]),
          "nothing sent yet",
        );
      }),
    );
}
