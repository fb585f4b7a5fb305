import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, createTeam, type Db } from "../src/index.ts";
import { findWeightsByName, getWeights, listWeights, recordWeights } from "../src/weights.repository.ts";
import { ConflictError, InvalidRequestError, NotFoundError } from "../src/errors.ts";
import { createTestDatabase, type TestDatabase } from "../../../test/helpers/test-db.ts";

const input = (sha: string, architecture = "resnet18", name = "imagenet") => ({ name, architecture, sha256: sha.repeat(64), sizeBytes: 46_808_661, tensorCount: 122 });

describe("weights repository", () => {
  let tdb: TestDatabase;
  let db: Db;
  let teamA: string;
  let teamB: string;
  beforeAll(async () => {
    tdb = await createTestDatabase("weights");
    db = createDb(tdb.url, { poolSize: 4 });
    teamA = (await createTeam(db, "a")).team.id;
    teamB = (await createTeam(db, "b")).team.id;
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("records a name once per content, also when two imports race; other content under it is a conflict", async () => {
    const [x, y] = await Promise.all([recordWeights(db, teamA, input("a")), recordWeights(db, teamA, input("a"))]);
    expect(x.weights.id).toBe(y.weights.id);
    expect([x.created, y.created].sort()).toEqual([false, true]);
    expect(x.weights.sizeBytes).toBe(46_808_661);
    await expect(recordWeights(db, teamA, input("b"))).rejects.toBeInstanceOf(ConflictError);
    const other = await recordWeights(db, teamA, input("b", "densenet121"));
    expect(other.created).toBe(true);
    expect((await findWeightsByName(db, teamA, "imagenet")).map((w) => w.architecture)).toEqual(["densenet121", "resnet18"]);
    await expect(recordWeights(db, teamA, input("c", "resnet18", "bad\0name"))).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it("never shows one team's weights to another", async () => {
    const mine = (await listWeights(db, teamA))[0]!;
    expect(await listWeights(db, teamB)).toEqual([]);
    expect(await findWeightsByName(db, teamB, "imagenet")).toEqual([]);
    await expect(getWeights(db, teamB, mine.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(getWeights(db, teamA, "not-a-uuid")).rejects.toBeInstanceOf(NotFoundError);
    expect((await getWeights(db, teamA, mine.id)).sha256).toBe(mine.sha256);
    // The same file under the same name in another team is that team's own row.
    const theirs = await recordWeights(db, teamB, input("a"));
    expect(theirs.created).toBe(true);
    expect(theirs.weights.id).not.toBe(mine.id);
  });
});
