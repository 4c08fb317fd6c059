/**
 * Git remote URL validation. Accepts what `git clone` accepts for the transports Sparki
 * supports: https, ssh (URL and scp-like forms) and, for development, local paths and file://.
 * URLs carrying credentials are refused: a secret in a project's metadata would leak into
 * caches, logs and API responses. Plain `http://` only reaches loopback and counts as `local`
 * (development only, like local paths): a local git server or a test's fake of GitHub.
 */
export type GitUrlKind = "https" | "ssh" | "local";

export type GitUrlCheck = { ok: true; kind: GitUrlKind } | { ok: false; reason: string };

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

const scpLike = /^(?<user>[A-Za-z0-9._-]+@)?(?<host>[A-Za-z0-9.-]+):(?!\/\/)(?<path>[^\s]+)$/;

/** Classifies and validates a git remote URL. */
export function checkGitUrl(raw: string): GitUrlCheck {
  const value = raw.trim();
  if (value.length === 0) return { ok: false, reason: "is empty" };
  if (value.length > 2048) return { ok: false, reason: "is longer than 2048 characters" };
  if (/\s/.test(value)) return { ok: false, reason: "contains whitespace" };
  if (value.startsWith("-")) return { ok: false, reason: "must not start with '-'" };

  if (value.startsWith("/")) return { ok: true, kind: "local" };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return checkUrlForm(value);
  const scp = scpLike.exec(value);
  if (scp?.groups) {
    const path = scp.groups.path ?? "";
    if (path === "" || path === "/") return { ok: false, reason: "has no repository path" };
    return { ok: true, kind: "ssh" };
  }
  return { ok: false, reason: "must be an https:// or ssh:// URL, user@host:path, file:// or an absolute path" };
}

function checkUrlForm(value: string): GitUrlCheck {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, reason: "is not a valid URL" };
  }
  switch (url.protocol) {
    case "https:":
    case "ssh:": {
      if (url.hostname === "") return { ok: false, reason: "has no host" };
      if (url.password !== "" || (url.protocol === "https:" && url.username !== "")) {
        return { ok: false, reason: "must not carry credentials; store them as a project secret" };
      }
      if (url.pathname === "" || url.pathname === "/") return { ok: false, reason: "has no repository path" };
      return { ok: true, kind: url.protocol === "https:" ? "https" : "ssh" };
    }
    case "http:": {
      // Loopback only: a token sent over plain http anywhere else could be read on the way.
      if (!LOOPBACK.has(url.hostname)) return { ok: false, reason: "uses plain http; use https (http is accepted on loopback only)" };
      if (url.password !== "" || url.username !== "") return { ok: false, reason: "must not carry credentials; store them as a project secret" };
      if (url.pathname === "" || url.pathname === "/") return { ok: false, reason: "has no repository path" };
      return { ok: true, kind: "local" };
    }
    case "file:":
      if (url.pathname === "" || url.pathname === "/") return { ok: false, reason: "has no repository path" };
      return { ok: true, kind: "local" };
    default:
      return { ok: false, reason: `uses the unsupported scheme ${url.protocol.slice(0, -1)}` };
  }
}
