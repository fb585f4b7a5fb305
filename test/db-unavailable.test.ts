/**
 * Postgres at its connection limit ("too many clients", SQLSTATE 53300) is a passing outage, not a fault: the API
 * answers 503 with Retry-After naming the database (never a 500), and the same request succeeds once a connection
 * frees. Real Postgres: the API connects as a role whose connection limit is then 0, then lifted.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { apiEnv, parseEnv } from "@hypersweep/config";
import { createDb, createTeam, isConnectionError, type Db } from "@hypersweep/db";
import { createTrialQueue, type TrialQueue } from "@hypersweep/queue";
import { buildApp } from "../apps/api/src/app.ts";
import { adminQuery, REDIS_URL } from "./helpers/pg-admin.ts";
import { createTestDatabase, testQueuePrefix, type TestDatabase } from "./helpers/test-db.ts";

const role = `hs_limited_${randomBytes(4).toString("hex")}`;
let tdb: TestDatabase;
let admin: Db;
let limited: Db;
let queue: TrialQueue;
let app: Awaited<ReturnType<typeof buildApp>>;
let url: string;
let apiKey: string;
const asRole = () => {
  const u = new URL(tdb.url);
  u.username = role;
  return u.toString();
};

beforeAll(async () => {
  tdb = await createTestDatabase("toomany");
  await adminQuery(`CREATE ROLE "${role}" LOGIN`);
  admin = createDb(tdb.url, { poolSize: 2 });
  await admin.pool.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO "${role}"; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "${role}"`);
  apiKey = (await createTeam(admin, "limited")).apiKey;
  queue = createTrialQueue({ redisUrl: REDIS_URL, prefix: testQueuePrefix("toomany") });
});
afterAll(async () => {
  await app?.close();
  await queue?.obliterate({ force: true }).catch(() => {});
  await queue?.close();
  await limited?.$disconnect();
  await admin?.$disconnect();
  await tdb?.drop();
  await adminQuery(`DROP ROLE IF EXISTS "${role}"`);
});

describe("Postgres at its connection limit", () => {
  it("is an outage to wait out: the real error is recognised, the API answers 503 with Retry-After, then serves once a connection frees", async () => {
    // The role may open no more connections (as when the server's slots are all taken); the API starts so.
    await adminQuery(`ALTER ROLE "${role}" CONNECTION LIMIT 0`);
    limited = createDb(asRole(), { poolSize: 2 });
    app = await buildApp({ db: limited, queue, config: parseEnv(apiEnv, { DATABASE_URL: asRole(), REDIS_URL, LOG_LEVEL: "silent" }) }, { logger: false });
    url = await app.listen({ host: "127.0.0.1", port: 0 });
    const refused = await new pg.Client({ connectionString: asRole() }).connect().then(() => null, (e: Error & { code?: string }) => e);
    expect(refused?.code).toBe("53300");
    expect(isConnectionError(refused)).toBe(true);

    const me = () => fetch(`${url}/v1/teams/me`, { headers: { authorization: `Bearer ${apiKey}` } });
    const busy = await me();
    expect(busy.status).toBe(503);
    expect(busy.headers.get("retry-after")).toBe("2");
    expect(await busy.json()).toEqual({ error: "UNAVAILABLE", message: "the database is unavailable; try again shortly" });

    await adminQuery(`ALTER ROLE "${role}" CONNECTION LIMIT -1`);
    const served = await me();
    expect(served.status).toBe(200);
    expect((await served.json()).team.name).toBe("limited");
  });
});
