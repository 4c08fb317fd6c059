/**
 * The databases of the shared end-to-end stacks on the machine's PostgreSQL (test/e2e/stacks.ts):
 * one per stack, named after the vitest process whose worker made it, so that the node project's
 * global teardown can drop what its workers left (a worker's last stack ends with its process,
 * which cannot await a drop). Apart from stacks.ts: the global setup must not load the stack.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

/** Shared stacks' databases are named after the vitest process whose workers made them. */
export function sharedDatabasePrefix(vitestPid: number): string {
  return `sparki_e2e_${vitestPid}_`;
}

/** Drops every database the workers of this vitest process made (a worker's last stack keeps its own). */
export async function dropSharedDatabases(adminUrl: string, vitestPid: number): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>("select datname from pg_database where datname like $1", [`${sharedDatabasePrefix(vitestPid)}%`]);
    for (const { datname } of rows) await client.query(`drop database if exists ${datname} with (force)`);
  } finally {
    await client.end();
  }
}

/** A new empty database for one shared stack (startStack migrates it). */
export async function createDatabase(adminUrl: string): Promise<{ adminUrl: string; name: string }> {
  const name = `${sharedDatabasePrefix(process.ppid)}${process.pid}_${randomBytes(4).toString("hex")}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  return { adminUrl, name };
}

export async function dropDatabase(database: { adminUrl: string; name: string }): Promise<void> {
  const client = new pg.Client({ connectionString: database.adminUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${database.name} with (force)`);
  } finally {
    await client.end();
  }
}
