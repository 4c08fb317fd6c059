/**
 * The allow policy for requests Sparki makes to addresses a tenant chose (health-check URLs,
 * platform API URLs): https to a named public host on the standard port, no credentials in the
 * URL, never an IP literal or an internal name. Development (ALLOW_LOCAL_OUTBOUND) also allows
 * http and any port on loopback, so a local stack can check a local app. Redirects are followed
 * by hand, each hop checked again, so an allowed host cannot bounce a request inward.
 *
 * Names are not resolved here (a Worker has no resolver); in production Cloudflare's fetch does
 * not reach private networks, so a public name that resolves inward gets nowhere either.
 */

export interface OutboundPolicy {
  /** Development stack: http and any port allowed on loopback. */
  development: boolean;
}

/** Ports allowed in production besides the scheme's default. */
const productionPorts = new Set(["", "443", "8443"]);
/** Names that only mean something inside a network. */
const internalSuffixes = [".localhost", ".local", ".internal", ".home.arpa", ".lan", ".intranet", ".corp"];

type Ipv4 = [number, number, number, number];

function ipv4(host: string): Ipv4 | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? (parts as Ipv4) : null;
}

/** The 8 groups of a bracketed IPv6 literal as the URL parser writes it (compressed, lower case). */
function ipv6(host: string): number[] | null {
  if (!host.startsWith("[") || !host.endsWith("]")) return null;
  const inner = host.slice(1, -1);
  const [head = "", tail] = inner.split("::");
  const group = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  const left = group(head);
  const right = tail === undefined ? [] : group(tail);
  const groups = tail === undefined ? left : [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/** What kind of address an IPv4 is, or null for a public one. */
function ipv4Range([a, b, c, d]: Ipv4): string | null {
  if (a === 169 && b === 254 && c === 169 && d === 254) return "metadata";
  if (a === 127) return "loopback";
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "private";
  if (a === 169 && b === 254) return "link-local";
  if (a === 100 && b >= 64 && b <= 127) return "CGNAT";
  if (a === 0) return "unspecified";
  if (a >= 224) return "multicast or reserved";
  if ((a === 192 && b === 0 && (c === 0 || c === 2)) || (a === 198 && (b === 18 || b === 19 || b === 51)) || (a === 203 && b === 0 && c === 113))
    return "reserved";
  return null;
}

function ipv6Range(g: number[]): string | null {
  const [g0 = 0, , , , , g5 = 0, g6 = 0, g7 = 0] = g;
  if (g.every((x) => x === 0)) return "unspecified";
  if (g.slice(0, 7).every((x) => x === 0) && g7 === 1) return "loopback";
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms carry an IPv4 inside.
  if (g.slice(0, 5).every((x) => x === 0) && (g5 === 0xffff || g5 === 0)) return ipv4Range([g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff]) ?? "IPv4-mapped";
  if (g0 === 0xfd00 && g[1] === 0x0ec2 && g7 === 0x254) return "metadata";
  if ((g0 & 0xfe00) === 0xfc00) return "unique-local";
  if ((g0 & 0xffc0) === 0xfe80) return "link-local";
  if ((g0 & 0xff00) === 0xff00) return "multicast";
  if (g0 === 0x64 && g[1] === 0xff9b) return "NAT64";
  if (g0 === 0x2001 && g[1] === 0x0db8) return "documentation";
  return null;
}

/** Is the URL's host a loopback address or name? */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === "localhost" || hostname.endsWith(".localhost")) return true;
  const v4 = ipv4(hostname);
  if (v4) return v4[0] === 127;
  const v6 = ipv6(hostname);
  return v6 ? ipv6Range(v6) === "loopback" : false;
}

/** Why `raw` may not be requested under `policy`, or null when it may. The reason names no secret. */
export function outboundProblem(raw: string | URL, policy: OutboundPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "is not a URL";
  }
  if (url.username || url.password) return "must not carry credentials (user:password@)";
  const host = url.hostname.toLowerCase();
  const loopbackOk = policy.development && isLoopbackHost(host);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopbackOk)) {
    return policy.development ? "must use https (http only to a loopback address in development)" : "must use https";
  }
  if (loopbackOk) return null;
  const v4 = ipv4(host);
  const v6 = ipv6(host);
  if (v4 || v6) {
    const range = v4 ? ipv4Range(v4) : v6 ? ipv6Range(v6) : null;
    return `must name a host, not an IP address${range ? ` (${range} range)` : ""}`;
  }
  if (host === "localhost" || !host.includes(".") || internalSuffixes.some((s) => host.endsWith(s))) return `must name a public host (${host} is internal)`;
  if (!productionPorts.has(url.port)) return `must use port 443 or 8443 (not ${url.port})`;
  return null;
}

/** A request refused by the policy (the URL itself or a redirect). */
export class OutboundRefused extends Error {
  override readonly name = "OutboundRefused";
}

/**
 * fetch with every hop checked: `problem` is asked about the URL and each redirect target, and
 * redirects (GET and HEAD only, at most `maxRedirects`) are followed by hand. With `follow` off a
 * redirect is returned as it is. Throws {@link OutboundRefused} for a refused hop.
 */
export async function fetchChecked(
  url: string,
  init: RequestInit,
  problem: (url: URL) => string | null,
  fetcher: (url: string, init: RequestInit) => Promise<Response>,
  opts: { follow?: boolean; maxRedirects?: number } = {},
): Promise<Response> {
  const method = (init.method ?? "GET").toUpperCase();
  const follow = (opts.follow ?? true) && (method === "GET" || method === "HEAD");
  let current = new URL(url);
  for (let hop = 0; ; hop++) {
    const refused = problem(current);
    if (refused) throw new OutboundRefused(hop === 0 ? `${current.origin} ${refused}` : `a redirect went to an address that ${refused}`);
    const res = await fetcher(current.toString(), { ...init, redirect: "manual" });
    const location = res.headers.get("location");
    if (!follow || res.status < 300 || res.status >= 400 || res.status === 304 || !location) return res;
    await res.body?.cancel();
    if (hop >= (opts.maxRedirects ?? 3)) throw new OutboundRefused("too many redirects");
    try {
      current = new URL(location, current);
    } catch {
      throw new OutboundRefused("a redirect went to an address that is not a URL");
    }
  }
}

/** The status class of an answer, as health checks report it: never the exact status of an arbitrary URL. */
export function statusClass(status: number | null): "2xx" | "3xx" | "4xx" | "5xx" | "unreachable" {
  if (status === null || status < 200 || status >= 600) return "unreachable";
  return `${Math.floor(status / 100)}xx` as "2xx" | "3xx" | "4xx" | "5xx";
}

/**
 * The policy for a platform's API: its documented origin, or one an instance admin listed in
 * PLATFORM_API_OVERRIDES (`scheme://host[:port]`, `:*` for any port). Credentials are refused
 * everywhere; the documented origins are https public hosts by construction.
 */
export function platformApiProblem(url: URL, documentedOrigin: string, overrides: readonly string[]): string | null {
  if (url.username || url.password) return "must not carry credentials (user:password@)";
  if (url.origin === documentedOrigin) return null;
  const allowed = overrides.some((entry) => {
    if (entry.endsWith(":*")) {
      const base = new URL(entry.slice(0, -2));
      return base.protocol === url.protocol && base.hostname === url.hostname;
    }
    return new URL(entry).origin === url.origin;
  });
  return allowed ? null : `is not the platform's documented API (${documentedOrigin}); an instance admin can allow it in PLATFORM_API_OVERRIDES`;
}

/** Parses PLATFORM_API_OVERRIDES (comma-separated origins); throws on an entry that is not one. */
export function parseApiOverrides(value: string | undefined): string[] {
  const entries = (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const entry of entries) {
    const base = entry.endsWith(":*") ? entry.slice(0, -2) : entry;
    let url: URL;
    try {
      url = new URL(base);
    } catch {
      throw new Error(`${entry} is not an origin (scheme://host[:port])`);
    }
    if (url.origin !== base.replace(/\/$/, "") || url.username || url.password)
      throw new Error(`${entry} is not an origin (scheme://host[:port], no path or credentials)`);
  }
  return entries;
}
