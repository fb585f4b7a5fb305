/**
 * Uploads are staged: a version directory appears only with its committed row, a failed record leaves nothing,
 * what a crash leaves behind is removed when the API starts, and tar's own abort is a 400.
 */
import { mkdir, readdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiEnv, parseEnv } from "@hypersweep/config";
import { createDb, createTeam, type Db } from "@hypersweep/db";
import { synthDataset } from "@hypersweep/data";
import { createTrialQueue, type TrialQueue } from "@hypersweep/queue";
import { buildApp } from "../src/app.ts";
import { importViaApi } from "../../cli/src/commands/datasets.ts";
import type { ApiError } from "../../cli/src/client.ts";
import { createTestDatabase, testQueuePrefix, type TestDatabase } from "../../../test/helpers/test-db.ts";
import { REDIS_URL } from "../../../test/helpers/pg-admin.ts";
import { tarPieces, writeGzip } from "../../../packages/data/test/archives.ts";
import { listDir, tempDir } from "../../../packages/data/test/helpers.ts";

const MiB = 1024 ** 2;

describe("staged uploads (API in process, real Postgres)", () => {
  let tdb: TestDatabase;
  let db: Db;
  let queue: TrialQueue;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let key: string;
  const apps: FastifyInstance[] = [];
  const dataDir = () => join(tmp.path, "data");
  const prefix = testQueuePrefix("staging");

  async function start(env: Record<string, string> = {}): Promise<string> {
    const config = parseEnv(apiEnv, { DATABASE_URL: tdb.url, HYPERSWEEP_DATA_DIR: dataDir(), HYPERSWEEP_QUEUE_PREFIX: prefix, LOG_LEVEL: "silent", ...env });
    const app = await buildApp({ db, queue, config }, { logger: false });
    apps.push(app);
    return app.listen({ host: "127.0.0.1", port: 0 });
  }

  beforeAll(async () => {
    tmp = await tempDir("staging");
    tdb = await createTestDatabase("apistaging");
    db = createDb(tdb.url, { poolSize: 4 });
    queue = createTrialQueue({ redisUrl: REDIS_URL, prefix });
    queue.on("error", () => {});
    key = (await createTeam(db, "team-s")).apiKey;
    await synthDataset(join(tmp.path, "chest"), { images: 16, size: 16, seed: 8 });
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await queue?.close();
    await db?.$disconnect();
    await tdb?.drop();
    await tmp?.cleanup();
  });

  const upload = (url: string, source: string, name?: string) => importViaApi(source, { url, apiKey: key, progress: false, name });

  it("publishes the version directory only when its row commits: a failed insert leaves nothing", async () => {
    const url = await start();
    await db.$executeRawUnsafe(`CREATE FUNCTION refuse_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$`);
    await db.$executeRawUnsafe(`CREATE TRIGGER refuse_version BEFORE INSERT ON dataset_versions FOR EACH ROW EXECUTE FUNCTION refuse_version()`);
    try {
      const err = (await upload(url, join(tmp.path, "chest")).catch((e: unknown) => e)) as ApiError;
      expect(err.status).toBe(500);
      expect(await listDir(join(dataDir(), "versions"))).toEqual([]);
      expect(await listDir(join(dataDir(), "tmp"))).toEqual([]);
    } finally {
      await db.$executeRawUnsafe(`DROP TRIGGER refuse_version ON dataset_versions`);
      await db.$executeRawUnsafe(`DROP FUNCTION refuse_version()`);
    }
    const ok = await upload(url, join(tmp.path, "chest"));
    expect(ok.created).toBe(true);
    expect(await listDir(join(dataDir(), "versions"))).toEqual([ok.version.contentHash]);
  });

  it("removes at start what an interrupted import left (stale temporary and unreferenced version directories)", async () => {
    const kept = (await listDir(join(dataDir(), "versions")))[0]!;
    const orphan = "f".repeat(64);
    await mkdir(join(dataDir(), "versions", orphan, "images"), { recursive: true });
    await mkdir(join(dataDir(), "tmp", "upload-crashed"), { recursive: true });
    await writeFile(join(dataDir(), "tmp", "upload-crashed", "upload.bin"), "half an upload");
    await mkdir(join(dataDir(), "tmp", "import-running"), { recursive: true });
    const old = new Date(Date.now() - 3 * 3600_000);
    for (const p of ["tmp/upload-crashed/upload.bin", "tmp/upload-crashed", `versions/${orphan}/images`, `versions/${orphan}`, `versions/${kept}`]) await utimes(join(dataDir(), p), old, old);
    for (const p of await readdir(join(dataDir(), "versions", kept), { recursive: true })) await utimes(join(dataDir(), "versions", kept, p), old, old);
    await start();
    expect(await listDir(join(dataDir(), "versions"))).toEqual([kept]);
    expect(await listDir(join(dataDir(), "tmp"))).toEqual(["import-running"]); // young: another process may own it
  });

  it("answers 400 when tar aborts an archive past 1000:1, after extraction stopped, leaving nothing", async () => {
    const url = await start({ HYPERSWEEP_UPLOAD_MAX_RATIO: "100000" });
    const tgz = join(tmp.path, "ratio.tar.gz");
    const manifest = `patient_id,file_name,modality,section,diagnosis,marks,split,lung_presence,origin,suitable\nP1,images/z.png,ct,axial,covid19,false,,full,o,true\n`;
    await writeGzip(tgz, tarPieces([{ path: "manifest.csv", data: Buffer.from(manifest) }, { path: "images/z.png", zeros: 200 * MiB }]));
    for (let i = 0; i < 3; i++) {
      const err = (await upload(url, tgz, "ratio").catch((e: unknown) => e)) as ApiError;
      expect([err.status, err.issues[0]?.path]).toEqual([400, "file"]);
      expect(err.message).toMatch(/^cannot unpack upload\.tar\.gz: max decompression ratio exceeded: 100\d\.\d+ > 1000$/);
      expect(await listDir(join(dataDir(), "tmp"))).toEqual(["import-running"]);
    }
  });
});
