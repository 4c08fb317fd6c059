/**
 * Where a `sparki-static` site lives: one host per project and stage under the sites origin
 * (`SITES_ORIGIN`), never on the dashboard's origin, so no cookie or storage of the dashboard is
 * ever the site's. With `SITES_ORIGIN=https://sparki.site`:
 *
 *   https://<project>.sparki.site/                    the project's `production` stage
 *   https://<stage>--<project>.sparki.site/           any other stage
 *   https://d--<deployment>--<project>.sparki.site/   one deployment's own immutable address
 *
 * Ids are UUIDs written in 26 characters of lowercase base32 (RFC 4648 alphabet), so the longest
 * form fits a DNS label (63 characters) and a wildcard certificate (one level) covers every
 * site. Stage names never contain `--`, so the forms cannot be confused. A stage whose host would
 * not fit a label (longer than 35 characters), or would start with `xn--` (IDNA), has no address.
 */

export type SiteTarget = { projectId: string; stage: string } | { projectId: string; deploymentId: string };

const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const stagePattern = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const maxLabel = 63;

/** A UUID as 26 base32 characters (its 128 bits, most significant first). */
export function encodeId(uuid: string): string {
  const lower = uuid.toLowerCase();
  if (!uuidPattern.test(lower)) throw new Error(`not a UUID: ${uuid}`);
  let n = BigInt(`0x${lower.replaceAll("-", "")}`);
  let out = "";
  for (let i = 0; i < 26; i++) {
    out = alphabet[Number(n & 31n)] + out;
    n >>= 5n;
  }
  return out;
}

/** The UUID a label part names, or null; only the one canonical spelling of each id is accepted. */
export function decodeId(text: string): string | null {
  if (text.length !== 26) return null;
  let n = 0n;
  for (const ch of text) {
    const digit = alphabet.indexOf(ch);
    if (digit < 0) return null;
    n = (n << 5n) | BigInt(digit);
  }
  if (n >> 128n !== 0n) return null;
  const hex = n.toString(16).padStart(32, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The DNS label of a site, or null when the stage cannot have one. */
export function siteLabel(target: SiteTarget): string | null {
  const project = encodeId(target.projectId);
  if ("deploymentId" in target) return `d--${encodeId(target.deploymentId)}--${project}`;
  if (target.stage === "production") return project;
  if (!stagePattern.test(target.stage) || target.stage === "xn") return null;
  const label = `${target.stage}--${project}`;
  return label.length <= maxLabel ? label : null;
}

/** The target a label names, or null for anything else. */
export function parseSiteLabel(label: string): SiteTarget | null {
  const parts = label.toLowerCase().split("--");
  if (parts.length === 1) {
    const projectId = decodeId(parts[0] ?? "");
    return projectId ? { projectId, stage: "production" } : null;
  }
  if (parts.length === 2) {
    const [stage = "", project = ""] = parts;
    const projectId = decodeId(project);
    return projectId && stagePattern.test(stage) && stage !== "production" ? { projectId, stage } : null;
  }
  if (parts.length === 3 && parts[0] === "d") {
    const deploymentId = decodeId(parts[1] ?? "");
    const projectId = decodeId(parts[2] ?? "");
    return deploymentId && projectId ? { projectId, deploymentId } : null;
  }
  return null;
}

/** The site's address (ending in `/`), or null when sites are not served or the stage has no host. */
export function siteUrl(sitesOrigin: string | undefined | null, target: SiteTarget): string | null {
  if (!sitesOrigin) return null;
  const label = siteLabel(target);
  if (!label) return null;
  const origin = new URL(sitesOrigin);
  return `${origin.protocol}//${label}.${origin.host}/`;
}

/**
 * Whether a request's host is on the sites origin: `undefined` when it is not (the dashboard and
 * API), otherwise the target it names, or null for a sites host that names no site (the bare
 * sites host included), which must answer 404 and never the dashboard.
 */
export function siteOfHost(sitesOrigin: string | undefined | null, host: string): SiteTarget | null | undefined {
  if (!sitesOrigin) return undefined;
  const origin = new URL(sitesOrigin);
  let url: URL;
  try {
    url = new URL(`${origin.protocol}//${host}/`);
  } catch {
    return undefined;
  }
  if (url.port !== origin.port) return undefined;
  if (url.hostname === origin.hostname) return null;
  if (!url.hostname.endsWith(`.${origin.hostname}`)) return undefined;
  const label = url.hostname.slice(0, -origin.hostname.length - 1);
  return label.includes(".") ? null : parseSiteLabel(label);
}
