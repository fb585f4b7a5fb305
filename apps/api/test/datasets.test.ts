import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiEnv, parseEnv } from "@hypersweep/config";
import { createDb, createTeam, type Db } from "@hypersweep/db";
import { synthDataset } from "@hypersweep/data";
import { createTrialQueue, type TrialQueue } from "@hypersweep/queue";
import { buildApp } from "../src/app.ts";
import { importViaApi } from "../../cli/src/commands/datasets.ts";
import { ApiError } from "../../cli/src/client.ts";
import { createTestDatabase, testQueuePrefix, type TestDatabase } from "../../../test/helpers/test-db.ts";
import { REDIS_URL } from "../../../test/helpers/pg-admin.ts";
import { listDir, tempDir } from "../../../packages/data/test/helpers.ts";

const UPLOAD_LIMIT = 2_000_000;

describe("datasets API (through the CLI's uploader, over a real socket)", () => {
  let tdb: TestDatabase;
  let db: Db;
  let queue: TrialQueue;
  let app: FastifyInstance;
  let url: string;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let keyA: string;
  let keyB: string;
  const dataDir = () => join(tmp.path, "data");

  beforeAll(async () => {
    tmp = await tempDir("api");
    tdb = await createTestDatabase("apidatasets");
    db = createDb(tdb.url, { poolSize: 4 });
    const config = parseEnv(apiEnv, {
      DATABASE_URL: tdb.url,
      HYPERSWEEP_DATA_DIR: dataDir(),
      HYPERSWEEP_UPLOAD_LIMIT: String(UPLOAD_LIMIT),
      HYPERSWEEP_QUEUE_PREFIX: testQueuePrefix("apids"),
      LOG_LEVEL: "silent",
    });
    queue = createTrialQueue({ redisUrl: REDIS_URL, prefix: config.HYPERSWEEP_QUEUE_PREFIX });
    queue.on("error", () => {});
    app = await buildApp({ db, queue, config }, { logger: false });
    url = await app.listen({ host: "127.0.0.1", port: 0 });
    keyA = (await createTeam(db, "team-a")).apiKey;
    keyB = (await createTeam(db, "team-b")).apiKey;
    await synthDataset(join(tmp.path, "chest"), { images: 60, size: 24, seed: 3 });
    await synthDataset(join(tmp.path, "broken"), { images: 30, size: 24, seed: 5, broken: 3 });
  });
  afterAll(async () => {
    await app?.close();
    await queue?.close();
    await db?.$disconnect();
    await tdb?.drop();
    await tmp?.cleanup();
  });

  const get = async (path: string, key = keyA) => {
    const res = await fetch(new URL(path, url), { headers: { authorization: `Bearer ${key}` } });
    return { status: res.status, body: (await res.json()) as any };
  };

  it("imports a directory once; the same content again is the same version", async () => {
    const first = await importViaApi(join(tmp.path, "chest"), { url, apiKey: keyA, progress: false });
    expect(first.created).toBe(true);
    expect(first.dataset.name).toBe("chest");
    expect(first.version.imageCount).toBe(60);
    expect(first.summary.bySplit.train + first.summary.bySplit.valid + first.summary.bySplit.test).toBe(60);
    const again = await importViaApi(join(tmp.path, "chest"), { url, apiKey: keyA, progress: false });
    expect(again.created).toBe(false);
    expect(again.version.id).toBe(first.version.id);
    const list = await get("/v1/datasets");
    expect(list.body.datasets.map((d: any) => [d.name, d.versionCount])).toEqual([["chest", 1]]);
    const one = await get(`/v1/datasets/${first.dataset.id}`);
    expect(one.status).toBe(200);
    expect(one.body.versions[0].summary.table.covid19).toBeDefined();
    expect(await listDir(join(dataDir(), "tmp"))).toEqual([]);
  });

  it("previews a scenario: classes, per-split counts and dropped classes", async () => {
    const res = await get(`/v1/datasets/chest/scenario?modality=ct&task=binary`);
    expect(res.status).toBe(200);
    expect(res.body.scenario).toMatchObject({ key: "ct/binary", classes: ["other", "covid19"], positiveClass: "covid19" });
    expect(res.body.scenario.rowIndices).toBeUndefined();
    const bad = await get(`/v1/datasets/chest/scenario?modality=mri&task=binary`);
    expect(bad.status).toBe(400);
  });

  it("rejects a broken dataset with one issue per problem (row and column) and stores nothing", async () => {
    const err = await importViaApi(join(tmp.path, "broken"), { url, apiKey: keyA, progress: false }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect([e.status, e.code]).toEqual([400, "DATASET_INVALID"]);
    expect(e.issues).toHaveLength(3);
    expect(e.issues.every((i) => /^row \d+\.file_name$/.test(i.path))).toBe(true);
    expect((await get("/v1/datasets")).body.datasets.map((d: any) => d.name)).toEqual(["chest"]);
    expect(await listDir(join(dataDir(), "tmp"))).toEqual([]);
    const partial = await importViaApi(join(tmp.path, "broken"), { url, apiKey: keyA, progress: false, excludeBadRows: true, name: "broken-clean" });
    expect(partial.version.imageCount).toBe(27);
    expect(partial.summary.excluded).toHaveLength(3);
  });

  it("keeps teams apart: another team neither lists nor reads the dataset", async () => {
    const mine = (await get("/v1/datasets")).body.datasets[0];
    expect((await get("/v1/datasets", keyB)).body.datasets).toEqual([]);
    const other = await get(`/v1/datasets/${mine.id}`, keyB);
    expect([other.status, other.body.error]).toEqual([404, "NOT_FOUND"]);
    expect((await get("/v1/datasets", "hs_nope")).status).toBe(401);
  });

  it("refuses an upload over the size limit and a file that is not an archive", async () => {
    const big = join(tmp.path, "big.zip");
    await writeFile(big, randomBytes(UPLOAD_LIMIT + 100_000));
    const tooBig = await importViaApi(big, { url, apiKey: keyA, progress: false }).then(() => null, (e: unknown) => e as ApiError);
    expect([tooBig?.status, tooBig?.code]).toEqual([413, "TOO_LARGE"]);
    const junk = join(tmp.path, "junk.zip");
    await writeFile(junk, "not an archive at all");
    const notArchive = await importViaApi(junk, { url, apiKey: keyA, progress: false }).then(() => null, (e: unknown) => e as ApiError);
    expect([notArchive?.status, notArchive?.issues[0]?.path]).toEqual([400, "file"]);
    expect(await listDir(join(dataDir(), "tmp"))).toEqual([]);
  });
});
