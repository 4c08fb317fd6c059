import { env } from "cloudflare:test";
import { expect, it } from "vitest";
import { SparkiError } from "../../core/errors.js";
import { connect, type Db } from "../db/client.js";
import { projects, secrets, workspaces } from "../db/schema.js";
import { encryptSecret } from "./crypto.js";
import { projectSecrets, sealProjectSecret } from "./project-secrets.js";

const key = env.SECRETS_KEY ?? "";

async function withDb<T>(run: (db: Db) => Promise<T>): Promise<T> {
  const conn = await connect(env.DATABASE_URL ?? "", env.NEON_WS_PROXY);
  try {
    return await run(conn.db);
  } finally {
    await conn.close();
  }
}

async function newProject(db: Db): Promise<string> {
  const slug = `sec-${crypto.randomUUID().slice(0, 8)}`;
  const [workspace] = await db.insert(workspaces).values({ name: slug, slug }).returning({ id: workspaces.id });
  const [project] = await db
    .insert(projects)
    .values({ workspaceId: workspace?.id ?? "", name: slug, gitUrl: "https://example.com/x.git" })
    .returning({ id: projects.id });
  return project?.id ?? "";
}

it("decrypts the project's secrets, all or those named, and needs no key when there are none", async () => {
  await withDb(async (db) => {
    const projectId = await newProject(db);
    expect(await projectSecrets({ SECRETS_KEY: undefined }, db, projectId)).toEqual({});
    for (const [name, value] of [
      ["API_TOKEN", "token-value-1"],
      ["DB_PASSWORD", "password-value-2"],
    ] as const) {
      await db.insert(secrets).values({ projectId, name, ciphertext: await sealProjectSecret({ SECRETS_KEY: key }, projectId, name, value) });
    }
    expect(await projectSecrets({ SECRETS_KEY: key }, db, projectId)).toEqual({ API_TOKEN: "token-value-1", DB_PASSWORD: "password-value-2" });
    expect(await projectSecrets({ SECRETS_KEY: key }, db, projectId, ["API_TOKEN", "NOT_STORED"])).toEqual({ API_TOKEN: "token-value-1" });
    expect(await projectSecrets({ SECRETS_KEY: undefined }, db, projectId, [])).toEqual({});
    // Only the named secrets are looked at: none stored, no key needed.
    expect(await projectSecrets({ SECRETS_KEY: undefined }, db, projectId, ["NOT_STORED"])).toEqual({});
  });
});

it("refuses, naming SECRETS_KEY, to read or store secrets without the key", async () => {
  await withDb(async (db) => {
    const projectId = await newProject(db);
    await db.insert(secrets).values({ projectId, name: "API_TOKEN", ciphertext: await encryptSecret(key, projectId, "API_TOKEN", "token-value-1") });
    for (const names of [undefined, ["API_TOKEN"]]) {
      const err = await projectSecrets({ SECRETS_KEY: undefined }, db, projectId, names).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SparkiError);
      expect((err as SparkiError).detail).toMatch(/no SECRETS_KEY/);
    }
    await expect(sealProjectSecret({ SECRETS_KEY: undefined }, projectId, "API_TOKEN", "token-value-1")).rejects.toThrow(SparkiError);
  });
});

it("fails on a value stored under another key rather than hand out nothing", async () => {
  await withDb(async (db) => {
    const projectId = await newProject(db);
    const other = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    await db.insert(secrets).values({ projectId, name: "API_TOKEN", ciphertext: await encryptSecret(other, projectId, "API_TOKEN", "token-value-1") });
    await expect(projectSecrets({ SECRETS_KEY: key }, db, projectId)).rejects.toThrow();
  });
});
