/**
 * A project's notification channels (contract: core/contracts/notifications.ts): the list, a
 * form to add an outgoing webhook or a Slack incoming webhook (owners and admins; the API refuses
 * others, and the refusal is shown), a test, and each channel's delivery log. A webhook's signing
 * key is shown once, right after it is added; URLs are shown by their host only.
 */
import { useState } from "preact/hooks";
import { notificationEvents } from "../../../core/notifications/events.ts";
import { api, get } from "../api.ts";
import type { Out } from "../contracts.ts";
import { ChannelCreated, ChannelList, Delivery, DeliveryList } from "../notification-contracts.ts";
import { ErrorNote, Time, useAction, useAsync } from "../ui.tsx";

type Channel = Out<typeof ChannelList>["items"][number];
const blank = { kind: "slack" as "slack" | "webhook", name: "", url: "", events: [...notificationEvents] as string[] };

export function Notifications({ projectId }: { projectId: string }) {
  const base = `/v1/projects/${projectId}/notifications`;
  const channels = useAsync(() => get(base, ChannelList), [projectId]);
  const [form, setForm] = useState(blank);
  const [shownKey, setShownKey] = useState<{ name: string; key: string } | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [run, busy, error] = useAction();
  const add = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const created = await api("POST", base, ChannelCreated, {
        kind: form.kind,
        url: form.url,
        events: form.events,
        ...(form.name ? { name: form.name } : {}),
      });
      setShownKey(created.signingSecret ? { name: created.name, key: created.signingSecret } : null);
      setForm(blank);
      channels.reload();
    });
  };
  const toggleEvent = (name: string, on: boolean) =>
    setForm({ ...form, events: notificationEvents.filter((x) => (x === name ? on : form.events.includes(x))) });
  return (
    <section aria-labelledby="notifications-h" id="notifications">
      <h2 id="notifications-h">Notifications</h2>
      <p class="muted">Failed and fixed builds, rolled-back deployments and stages waiting for approval, sent to a signed webhook or a Slack channel.</p>
      <ErrorNote error={channels.error ?? error} />
      {shownKey && (
        <p class="card" role="status" data-signing-key>
          Signing key of {shownKey.name}, shown only now: <code>{shownKey.key}</code>. Each delivery carries{" "}
          <code>X-Sparki-Signature-256: sha256=&lt;HMAC-SHA256 of the body&gt;</code>.
        </p>
      )}
      {channels.data?.items.length === 0 && <p>No channels yet.</p>}
      {channels.data && channels.data.items.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Sends to</th>
                <th scope="col">Events</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {channels.data.items.map((c) => (
                <ChannelRow
                  key={c.id}
                  channel={c}
                  base={base}
                  busy={busy}
                  run={run}
                  reload={channels.reload}
                  onLog={() => setOpen(open === c.id ? null : c.id)}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {open && <Deliveries path={`${base}/${open}/deliveries`} />}
      <form class="card row-form" onSubmit={add} aria-label="Add a notification channel">
        <label for="n-kind">Kind</label>
        <select id="n-kind" value={form.kind} onChange={(e) => setForm({ ...form, kind: e.currentTarget.value === "webhook" ? "webhook" : "slack" })}>
          <option value="slack">Slack incoming webhook</option>
          <option value="webhook">Webhook (signed JSON)</option>
        </select>
        <label for="n-url">URL</label>
        <input
          id="n-url"
          type="url"
          required
          autoComplete="off"
          placeholder="https://hooks.slack.com/services/…"
          value={form.url}
          onInput={(e) => setForm({ ...form, url: e.currentTarget.value })}
        />
        <label for="n-name">Name</label>
        <input id="n-name" maxLength={100} placeholder="#builds" value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />
        <fieldset class="inline">
          <legend>Events</legend>
          {notificationEvents.map((name) => (
            <label key={name}>
              <input
                type="checkbox"
                name="event"
                value={name}
                checked={form.events.includes(name)}
                onChange={(e) => toggleEvent(name, e.currentTarget.checked)}
              />{" "}
              {name}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={busy || form.events.length === 0}>
          Add channel
        </button>
      </form>
    </section>
  );
}

function ChannelRow(props: {
  channel: Channel;
  base: string;
  busy: boolean;
  run: (fn: () => Promise<unknown>) => Promise<void>;
  reload: () => void;
  onLog: () => void;
}) {
  const { channel: c, base, busy, run, reload } = props;
  const path = `${base}/${c.id}`;
  return (
    <tr data-channel={c.name}>
      <td>
        {c.name} {!c.enabled && <span class="muted">(off)</span>}
      </td>
      <td>{c.kind}</td>
      <td class="mono">{c.urlHint}</td>
      <td>{c.events.join(", ")}</td>
      <td>
        <button type="button" onClick={props.onLog}>
          Deliveries
        </button>{" "}
        <button type="button" disabled={busy} onClick={() => void run(async () => api("POST", `${path}/test`, Delivery))}>
          Test
        </button>{" "}
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            void run(async () => {
              await api("PATCH", path, undefined, { enabled: !c.enabled });
              reload();
            })
          }
        >
          {c.enabled ? "Turn off" : "Turn on"}
        </button>{" "}
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={() =>
            confirm(`Remove the channel ${c.name} and its delivery log?`) &&
            void run(async () => {
              await api("DELETE", path);
              reload();
            })
          }
        >
          Remove
        </button>
      </td>
    </tr>
  );
}

/** A channel's delivery log, refreshed while anything in it waits for another attempt. */
function Deliveries({ path }: { path: string }) {
  const log = useAsync(() => get(`${path}?limit=25`, DeliveryList), [path], { pollMs: 3000, poll: (d) => d.items.some((x) => x.status === "pending") });
  return (
    <div class="table-wrap" role="region" aria-label="Delivery log">
      <ErrorNote error={log.error} />
      {log.data?.items.length === 0 && <p>Nothing sent yet.</p>}
      {log.data && log.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">HTTP</th>
              <th scope="col">When</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {log.data.items.map((d) => (
              <tr key={d.id} data-delivery={d.status}>
                <td>{d.event}</td>
                <td>{d.status}</td>
                <td>{d.attempts}</td>
                <td>{d.responseStatus ?? "-"}</td>
                <td>
                  <Time at={d.createdAt} />
                </td>
                <td class="mono">{d.error ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
