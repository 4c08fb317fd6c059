import { describe, expect, it } from "vitest";
import { decodeId, encodeId, parseSiteLabel, siteLabel, siteOfHost, siteUrl } from "./hosts.js";

const project = "0f8e2c4a-9b1d-4e6f-8a2b-3c4d5e6f7a8b";
const deployment = "ffffffff-ffff-4fff-bfff-ffffffffffff";

describe("site hosts", () => {
  it("writes every UUID as 26 base32 characters and reads back only that spelling", () => {
    for (const id of [project, deployment, "00000000-0000-0000-0000-000000000000", crypto.randomUUID()]) {
      const text = encodeId(id);
      expect(text).toMatch(/^[a-z2-7]{26}$/);
      expect(decodeId(text)).toBe(id);
    }
    // 26 characters hold 130 bits: the spellings above 2^128 are not ids.
    expect(decodeId("7".repeat(26))).toBeNull();
    expect(decodeId(encodeId(project).toUpperCase())).toBeNull();
    expect(decodeId(encodeId(project).slice(1))).toBeNull();
  });

  it("names production, other stages and one deployment apart, each within a DNS label", () => {
    const production = siteLabel({ projectId: project, stage: "production" });
    const staging = siteLabel({ projectId: project, stage: "staging" });
    const own = siteLabel({ projectId: project, deploymentId: deployment });
    expect(production).toBe(encodeId(project));
    expect(staging).toBe(`staging--${encodeId(project)}`);
    expect(own).toBe(`d--${encodeId(deployment)}--${encodeId(project)}`);
    for (const label of [production, staging, own]) expect(label?.length).toBeLessThanOrEqual(63);
    expect(parseSiteLabel(production ?? "")).toEqual({ projectId: project, stage: "production" });
    expect(parseSiteLabel(staging ?? "")).toEqual({ projectId: project, stage: "staging" });
    expect(parseSiteLabel(own ?? "")).toEqual({ projectId: project, deploymentId: deployment });
    // A stage too long for a label, or one that would read as IDNA, has no host.
    expect(siteLabel({ projectId: project, stage: "a".repeat(36) })).toBeNull();
    expect(siteLabel({ projectId: project, stage: "a".repeat(35) })?.length).toBe(63);
    expect(siteLabel({ projectId: project, stage: "xn" })).toBeNull();
    // "production" has one address only.
    expect(parseSiteLabel(`production--${encodeId(project)}`)).toBeNull();
    for (const bad of ["", "www", `x--y--${encodeId(project)}`, `Bad_--${encodeId(project)}`, `d--${encodeId(deployment)}--x`])
      expect(parseSiteLabel(bad), bad).toBeNull();
  });

  it("tells a request's host apart: another host, a site, or a sites host naming nothing", () => {
    const origin = "https://sparki.site";
    expect(siteUrl(origin, { projectId: project, stage: "production" })).toBe(`https://${encodeId(project)}.sparki.site/`);
    expect(siteOfHost(origin, `${encodeId(project)}.sparki.site`)).toEqual({ projectId: project, stage: "production" });
    expect(siteOfHost(origin, `${encodeId(project)}.SPARKI.site`)).toEqual({ projectId: project, stage: "production" });
    expect(siteOfHost(origin, "sparki.site")).toBeNull();
    expect(siteOfHost(origin, "nope.sparki.site")).toBeNull();
    expect(siteOfHost(origin, `a.${encodeId(project)}.sparki.site`)).toBeNull();
    for (const other of ["api.sparki.dev", "evilsparki.site", `${encodeId(project)}.sparki.site:8443`, "sparki.site.evil.com"])
      expect(siteOfHost(origin, other), other).toBeUndefined();
    expect(siteOfHost(undefined, `${encodeId(project)}.sparki.site`)).toBeUndefined();
    expect(siteUrl(undefined, { projectId: project, stage: "production" })).toBeNull();
    // Locally: a port of its own, on *.localhost.
    expect(siteOfHost("http://localhost:8788", `${encodeId(project)}.localhost:8788`)).toEqual({ projectId: project, stage: "production" });
    expect(siteOfHost("http://localhost:8788", `${encodeId(project)}.localhost:8787`)).toBeUndefined();
  });
});
