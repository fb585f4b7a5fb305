/**
 * Run as its own process by CacheBuilds (cache-builds.ts): builds the preprocessing cache of one dataset
 * version at one image size (or waits for whoever builds it: the build-once lock of @hypersweep/data) and makes
 * sure its index carries the integrity hash. Progress goes to stdout as JSON lines; the last line is the index.
 *   node --import tsx build-child.ts <versionDir> <imageSize> <cacheRoot>
 */
import { cacheIntegrity, ensureCache } from "@hypersweep/data";

const [versionDir, size, cacheRoot] = process.argv.slice(2);
const line = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
let last = 0;
try {
  const handle = await ensureCache(versionDir!, Number(size), cacheRoot!, {
    // Decoding runs on libvips' threads: two at a time keeps a core or two for the API's own work.
    concurrency: 2,
    onProgress: (done, total) => {
      if (done === total || Date.now() - last > 250) {
        last = Date.now();
        line({ type: "progress", done, total });
      }
    },
  });
  const index = await cacheIntegrity(handle);
  line({ type: "done", built: handle.built, sha256: index.sha256 });
} catch (err) {
  line({ type: "error", message: (err as Error).message });
  process.exitCode = 1;
}
