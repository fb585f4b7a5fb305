import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, createTeam, type Db } from "../src/index.ts";
import { getDataset, getDatasetVersion, listDatasets, recordDatasetVersion } from "../src/dataset.repository.ts";
import { NotFoundError, InvalidRequestError } from "../src/errors.ts";
import { createTestDatabase, type TestDatabase } from "../../../test/helpers/test-db.ts";

const input = (hash: string, n = 3) => ({
  contentHash: hash,
  storagePath: `/data/versions/${hash}`,
  imageCount: n,
  summary: { imageCount: n, bySplit: { train: n, valid: 0, test: 0 } },
  manifest: [{ fileName: "a.png", split: "train" }],
});

describe("dataset repository", () => {
  let tdb: TestDatabase;
  let db: Db;
  let teamA: string;
  let teamB: string;
  beforeAll(async () => {
    tdb = await createTestDatabase("datasets");
    db = createDb(tdb.url, { poolSize: 4 });
    teamA = (await createTeam(db, "a")).team.id;
    teamB = (await createTeam(db, "b")).team.id;
  });
  afterAll(async () => {
    await db?.$disconnect();
    await tdb?.drop();
  });

  it("records a version once per content, also when two imports race", async () => {
    const [x, y] = await Promise.all([recordDatasetVersion(db, teamA, "chest", input("h1")), recordDatasetVersion(db, teamA, "chest", input("h1"))]);
    expect(x.version.id).toBe(y.version.id);
    expect([x.created, y.created].sort()).toEqual([false, true]);
    const again = await recordDatasetVersion(db, teamA, "chest", input("h1"));
    expect(again).toMatchObject({ created: false, version: { id: x.version.id } });
    const next = await recordDatasetVersion(db, teamA, "chest", input("h2", 5));
    expect(next.created).toBe(true);
    expect(next.dataset.id).toBe(x.dataset.id);
    const ds = await getDataset(db, teamA, "chest");
    expect(ds.versions.map((v) => v.contentHash)).toEqual(["h2", "h1"]);
    expect(ds.versions[0]!.summary).toEqual({ imageCount: 5, bySplit: { train: 5, valid: 0, test: 0 } });
  });

  it("never shows one team's datasets or versions to another", async () => {
    const mine = await recordDatasetVersion(db, teamA, "private", input("p1"));
    const theirs = await recordDatasetVersion(db, teamB, "private", input("p1"));
    expect(theirs.dataset.id).not.toBe(mine.dataset.id);
    expect((await listDatasets(db, teamB)).map((d) => d.name)).toEqual(["private"]);
    await expect(getDataset(db, teamB, mine.dataset.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(getDatasetVersion(db, teamB, mine.version.id)).rejects.toBeInstanceOf(NotFoundError);
    const v = await getDatasetVersion(db, teamA, mine.version.id);
    expect(v.manifest).toEqual([{ fileName: "a.png", split: "train" }]);
  });

  it("lists datasets with their version count and latest version", async () => {
    const list = await listDatasets(db, teamA);
    const chest = list.find((d) => d.name === "chest")!;
    expect(chest.versionCount).toBe(2);
    expect(chest.latestVersion?.contentHash).toBe("h2");
  });

  it("refuses a name that cannot be shown or typed safely", async () => {
    await expect(recordDatasetVersion(db, teamA, "../x", input("z"))).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(recordDatasetVersion(db, teamA, "", input("z"))).rejects.toBeInstanceOf(InvalidRequestError);
  });
});
