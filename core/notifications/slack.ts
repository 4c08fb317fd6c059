/**
 * The Slack incoming-webhook message for a notification (https://api.slack.com/messaging/webhooks):
 * `text` is the fallback that notifications and screen readers use, `blocks` the message
 * shown. Values that come from users (project and branch names, errors) are escaped as Slack's
 * "Formatting text" asks (&, <, >), so a branch called `<!channel>` pings nobody and links nothing.
 */
import type { NotificationPayload } from "../contracts/notifications.js";

export interface SlackMessage {
  text: string;
  blocks: ({ type: "section"; text: { type: "mrkdwn"; text: string } } | { type: "context"; elements: { type: "mrkdwn"; text: string }[] })[];
}

/** Slack's three control characters, escaped. */
export function slackEscape(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** A Slack section's text is at most 3,000 characters. */
const SECTION_MAX = 3000;

function headline(p: NotificationPayload): string {
  const project = p.project.name;
  const build = p.build ? `build #${p.build.number ?? "?"}${p.build.branch ? ` of ${p.build.branch}` : ""}` : "";
  switch (p.event) {
    case "build.failed":
      return `${project}: ${build} failed`;
    case "build.fixed":
      return `${project}: ${build} is fixed`;
    case "deployment.rolled_back":
      return `${project}: deployment rolled back${p.deployment?.stages.length ? ` (${p.deployment.stages.join(", ")})` : ""}`;
    case "approval.waiting":
      return `${project}: stage ${p.deployment?.stages[0] ?? "?"} waits for approval`;
    case "ping":
      return `${project}: test notification from Sparki`;
    default: {
      const unreachable: never = p.event;
      return String(unreachable);
    }
  }
}

/** The message for `p`. */
export function slackMessage(p: NotificationPayload): SlackMessage {
  const title = slackEscape(headline(p));
  const linked = p.url ? `*<${p.url}|${title}>*` : `*${title}*`;
  const details: string[] = [];
  if (p.build?.commitSha) details.push(`commit \`${slackEscape(p.build.commitSha.slice(0, 12))}\``);
  const reason = p.build?.error ?? p.deployment?.reason;
  if (reason) details.push(slackEscape(reason));
  const body = [linked, ...details].join("\n").slice(0, SECTION_MAX);
  return {
    // The fallback is read as mrkdwn too (notifications, screen readers): escaped the same way.
    text: title,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: body } },
      {
        type: "context",
        elements: [
          {
            type: "mrkdwn",
            text: `Sparki · ${slackEscape(p.event)} · <!date^${Math.floor(Date.parse(p.occurredAt) / 1000)}^{date_short_pretty} {time}|${p.occurredAt}>`,
          },
        ],
      },
    ],
  };
}
