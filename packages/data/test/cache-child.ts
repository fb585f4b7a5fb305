// Run as a separate process by cache.test.ts: builds (or reuses) a cache and prints whether it built it.
import { ensureCache } from "../src/index.ts";

const [versionDir, size, cacheRoot] = process.argv.slice(2);
const h = await ensureCache(versionDir!, Number(size), cacheRoot!, { pollMs: 20 });
process.stdout.write(JSON.stringify({ built: h.built, dir: h.dir }));
