/**
 * The driver adapter the Prisma CLI uses for `migrate deploy|dev|reset` (Prisma 6.19.3, JavaScript engine).
 * It works around three defects of @prisma/adapter-pg 6.19.3 under the CLI, without editing node_modules:
 *  1. result columns of type `name` (OID 19) and `"char"` (OID 18) cannot be deserialised
 *     (prisma/orm#27403): a pg Client subclass reports them as `text` (OID 25);
 *  2. the shadow database of `migrate dev` is reached through the main connection string and dropped while
 *     still connected: we create a uniquely named database, connect to it by URL, and on dispose close the
 *     pool first, then `DROP DATABASE … WITH (FORCE)`;
 *  3. `executeScript` splits a migration on every `;`, which breaks `$$` bodies and string literals: we send
 *     the script whole, in one query (a failing migration then rolls back whole).
 * The application's own client (client.ts) does not need any of this.
 */
import pg from "pg";
import { PrismaPg } from "@prisma/adapter-pg";

const TEXT_OID = 25;
const NAME_OID = 19;
const CHAR_OID = 18;

type QueryResultLike = { fields?: Array<{ dataTypeID: number }> } | Array<{ fields?: Array<{ dataTypeID: number }> }>;

function textifyFields(result: QueryResultLike): QueryResultLike {
  const results = Array.isArray(result) ? result : [result];
  for (const r of results) {
    for (const f of r?.fields ?? []) {
      if (f.dataTypeID === NAME_OID || f.dataTypeID === CHAR_OID) f.dataTypeID = TEXT_OID;
    }
  }
  return result;
}

class TextNameClient extends pg.Client {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    // pg.Pool calls query with a trailing callback; direct callers use the promise.
    const last = args[args.length - 1];
    if (typeof last === "function") {
      args[args.length - 1] = (err: unknown, res: QueryResultLike) => last(err, res ? textifyFields(res) : res);
    }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const out = (super.query as any)(...args);
    if (out && typeof out.then === "function") return out.then(textifyFields);
    return out;
  }
}

function poolConfig(url: string): pg.PoolConfig {
  return { connectionString: url, Client: TextNameClient, allowExitOnIdle: true } as pg.PoolConfig;
}

type Adapter = Awaited<ReturnType<PrismaPg["connect"]>>;

function sendScriptsWhole(adapter: Adapter): Adapter {
  const client = (adapter as unknown as { client: pg.Pool }).client;
  adapter.executeScript = async (script: string) => {
    await client.query(script);
  };
  return adapter;
}

class MigrationPg extends PrismaPg {
  constructor(private readonly url: string) {
    super(poolConfig(url));
  }

  override async connect(): Promise<Adapter> {
    return sendScriptsWhole(await super.connect());
  }

  override async connectToShadowDb(): Promise<Adapter> {
    const database = `prisma_shadow_${process.pid}_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: this.url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${database}"`);
    } finally {
      await admin.end();
    }
    const shadowUrl = new URL(this.url);
    shadowUrl.pathname = `/${database}`;
    const shadow = await new PrismaPg(poolConfig(shadowUrl.toString())).connect();
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await dispose();
      const c = new pg.Client({ connectionString: this.url });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    };
    return sendScriptsWhole(shadow);
  }
}

export function migrationAdapter(url: string): PrismaPg {
  if (!url) throw new Error("DATABASE_URL is not set: the Prisma CLI needs it to reach Postgres");
  return new MigrationPg(url);
}
