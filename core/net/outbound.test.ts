import { describe, expect, it } from "vitest";
import { fetchChecked, isLoopbackHost, OutboundRefused, outboundProblem, parseApiOverrides, platformApiProblem, statusClass } from "./outbound.ts";

const production = { development: false };
const development = { development: true };

describe("outboundProblem", () => {
  it("allows https to a public host on the standard ports", () => {
    for (const url of ["https://app.example.com/health", "https://app.example.com:443/", "https://app.example.com:8443/x?y=1"])
      expect(outboundProblem(url, production), url).toBeNull();
  });

  it.each([
    ["http://app.example.com/", /https/],
    ["file:///etc/passwd", /https/],
    ["gopher://app.example.com/", /https/],
    ["https://user:pw@app.example.com/", /credentials/],
    ["https://user@app.example.com/", /credentials/],
    ["https://169.254.169.254/latest/meta-data/", /IP address \(metadata/],
    ["https://10.0.0.1/", /IP address \(private/],
    ["https://172.20.1.1/", /private/],
    ["https://192.168.1.1/", /private/],
    ["https://100.64.0.1/", /CGNAT/],
    ["https://127.0.0.1/", /loopback/],
    ["https://0.0.0.0/", /unspecified/],
    ["https://8.8.8.8/", /IP address/],
    ["https://2130706433/", /loopback/],
    ["https://0x7f.1/", /loopback/],
    ["https://[::1]/", /loopback/],
    ["https://[::ffff:127.0.0.1]/", /loopback/],
    ["https://[::ffff:169.254.169.254]/", /metadata/],
    ["https://[fd00:ec2::254]/", /metadata/],
    ["https://[fc00::1]/", /unique-local/],
    ["https://[fe80::1]/", /link-local/],
    ["https://[2606:4700::1111]/", /IP address/],
    ["https://localhost/", /internal/],
    ["https://api.localhost/", /internal/],
    ["https://metadata.google.internal/", /internal/],
    ["https://printer.local/", /internal/],
    ["https://intranet/", /internal/],
    ["https://app.example.com:22/", /port/],
    ["https://app.example.com:6379/", /port/],
    ["not a url", /not a URL/],
  ])("refuses %s in production", (url, reason) => {
    expect(outboundProblem(url, production)).toMatch(reason);
  });

  it("allows http and any port on loopback in development only", () => {
    for (const url of ["http://127.0.0.1:8080/health", "http://localhost:3000/", "http://[::1]:9000/", "https://127.0.0.1:1/", "http://app.localhost:5173/"]) {
      expect(outboundProblem(url, development), url).toBeNull();
      expect(outboundProblem(url, production), url).not.toBeNull();
    }
    for (const url of ["http://10.0.0.1/", "https://169.254.169.254/", "http://app.example.com/", "https://[fe80::1]/", "http://u:p@127.0.0.1/"])
      expect(outboundProblem(url, development), url).not.toBeNull();
  });
});

describe("isLoopbackHost", () => {
  it("knows loopback names and addresses", () => {
    expect(["127.0.0.1", "127.9.9.9", "[::1]", "[::ffff:7f00:1]", "localhost", "x.localhost"].every(isLoopbackHost)).toBe(true);
    expect(["10.0.0.1", "[::2]", "localhost.example.com", "[::ffff:a00:1]"].some(isLoopbackHost)).toBe(false);
  });
});

describe("fetchChecked", () => {
  /** A fetch that answers from a table and records every URL it was asked for. */
  function fakeFetch(answers: Record<string, Response>) {
    const asked: string[] = [];
    const fetcher = async (url: string, init: RequestInit) => {
      expect(init.redirect).toBe("manual");
      asked.push(url);
      return answers[url] ?? new Response("missing", { status: 404 });
    };
    return { asked, fetcher };
  }
  const check = (url: URL) => outboundProblem(url, production);

  it("follows a redirect to an allowed host, checking it", async () => {
    const { asked, fetcher } = fakeFetch({
      "https://a.example.com/": new Response(null, { status: 302, headers: { location: "https://b.example.com/ok" } }),
      "https://b.example.com/ok": new Response("fine"),
    });
    expect((await fetchChecked("https://a.example.com/", {}, check, fetcher)).status).toBe(200);
    expect(asked).toEqual(["https://a.example.com/", "https://b.example.com/ok"]);
  });

  it("never asks a refused redirect target, relative or absolute", async () => {
    for (const location of ["http://127.0.0.1:6379/", "https://169.254.169.254/latest", "//10.0.0.1/x"]) {
      const { asked, fetcher } = fakeFetch({ "https://a.example.com/": new Response(null, { status: 301, headers: { location } }) });
      await expect(fetchChecked("https://a.example.com/", {}, check, fetcher)).rejects.toThrow(OutboundRefused);
      expect(asked).toEqual(["https://a.example.com/"]);
    }
  });

  it("refuses the first URL without asking anything, and stops redirect loops", async () => {
    const { asked, fetcher } = fakeFetch({ "https://a.example.com/": new Response(null, { status: 302, headers: { location: "/" } }) });
    await expect(fetchChecked("https://10.0.0.1/", {}, check, fetcher)).rejects.toThrow(/IP address/);
    expect(asked).toEqual([]);
    await expect(fetchChecked("https://a.example.com/", {}, check, fetcher)).rejects.toThrow(/too many redirects/);
  });

  it("returns a redirect as it is for a POST or when following is off", async () => {
    const { asked, fetcher } = fakeFetch({ "https://a.example.com/": new Response(null, { status: 307, headers: { location: "https://b.example.com/" } }) });
    expect((await fetchChecked("https://a.example.com/", { method: "POST" }, check, fetcher)).status).toBe(307);
    expect((await fetchChecked("https://a.example.com/", {}, check, fetcher, { follow: false })).status).toBe(307);
    expect(asked).toEqual(["https://a.example.com/", "https://a.example.com/"]);
  });
});

describe("platformApiProblem", () => {
  const railway = "https://backboard.railway.com";
  it("allows the documented origin and admin overrides only", () => {
    const overrides = parseApiOverrides("http://127.0.0.1:*, https://railway-proxy.corp.example:8443");
    expect(platformApiProblem(new URL("https://backboard.railway.com/graphql/v2"), railway, [])).toBeNull();
    expect(platformApiProblem(new URL("http://127.0.0.1:4567/graphql/v2"), railway, overrides)).toBeNull();
    expect(platformApiProblem(new URL("https://railway-proxy.corp.example:8443/g"), railway, overrides)).toBeNull();
    expect(platformApiProblem(new URL("https://attacker.example/graphql/v2"), railway, overrides)).toMatch(
      /documented API \(https:\/\/backboard\.railway\.com\).*PLATFORM_API_OVERRIDES/,
    );
    expect(platformApiProblem(new URL("https://railway-proxy.corp.example/g"), railway, overrides)).not.toBeNull();
    expect(platformApiProblem(new URL("http://127.0.0.1:4567/"), railway, [])).not.toBeNull();
    expect(platformApiProblem(new URL("https://x:y@backboard.railway.com/"), railway, [])).toMatch(/credentials/);
  });

  it("refuses override entries that are not origins", () => {
    for (const bad of ["not a url", "https://a.example/path", "https://u:p@a.example"]) expect(() => parseApiOverrides(bad), bad).toThrow();
    expect(parseApiOverrides(undefined)).toEqual([]);
  });
});

describe("statusClass", () => {
  it("reports the class, never the status", () => {
    expect([200, 204, 301, 404, 418, 500, 503, null, 0, 99].map(statusClass)).toEqual([
      "2xx",
      "2xx",
      "3xx",
      "4xx",
      "4xx",
      "5xx",
      "5xx",
      "unreachable",
      "unreachable",
      "unreachable",
    ]);
  });
});
