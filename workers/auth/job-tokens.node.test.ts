import { describe, expect, it } from "vitest";
import { signAccessToken, verifyAccessToken } from "./jwt.ts";
import { signJobToken, verifyJobToken } from "./job-tokens.ts";

const secret = "a-test-secret-that-is-long-enough-for-hs256";
const holder = { jobId: "0b5b0d4e-4f5c-4d7e-9d6a-3c1f2e4b5a69.1", leaseId: "lease-1", fencingToken: 3, runnerId: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f" };

describe("job tokens", () => {
  it("carry the job, lease, fencing token and runner they were issued for", async () => {
    expect(await verifyJobToken(await signJobToken(holder, secret, 60), secret)).toEqual(holder);
  });

  it("are refused once expired, under another secret, or when altered", async () => {
    const expired = await signJobToken(holder, secret, 1, Date.now() - 10_000);
    await expect(verifyJobToken(expired, secret)).rejects.toMatchObject({ code: "invalid_token" });
    await expect(verifyJobToken(await signJobToken(holder, `${secret}-other`, 60), secret)).rejects.toMatchObject({ code: "invalid_token" });
    const [head, , sig] = (await signJobToken(holder, secret, 60)).split(".");
    const forged = Buffer.from(
      JSON.stringify({ sub: holder.jobId, lid: "lease-2", ftk: 4, rid: holder.runnerId, aud: "sparki-job", iss: "sparki", exp: 9e9 }),
    ).toString("base64url");
    await expect(verifyJobToken(`${head}.${forged}.${sig}`, secret)).rejects.toMatchObject({ code: "invalid_token" });
  });

  it("never pass as a user's access token, nor an access token as a job token (separate keys and audiences)", async () => {
    await expect(verifyAccessToken(await signJobToken(holder, secret, 60), secret)).rejects.toMatchObject({ code: "invalid_token" });
    const { token } = await signAccessToken(holder.runnerId, secret);
    await expect(verifyJobToken(token, secret)).rejects.toMatchObject({ code: "invalid_token" });
  });
});
