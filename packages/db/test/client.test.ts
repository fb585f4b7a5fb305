import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "../src/index.ts";
import { createTestDatabase, type TestDatabase } from "../../../test/helpers/test-db.ts";

describe("db client", () => {
  let tdb: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    tdb = await createTestDatabase("dbclient");
    db = createDb(tdb.url);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("stores a team and finds it by its unique name", async () => {
    const t = await db.team.create({ data: { name: "radiology" } });
    const found = await db.team.findUnique({ where: { name: "radiology" } });
    expect(found?.id).toBe(t.id);
    await expect(db.team.create({ data: { name: "radiology" } })).rejects.toThrow();
  });
});
