/**
 * The cache builder as a command (packages/data/bin/hypersweep-cache): `<versionDir> <imageSize> <cacheRoot>`.
 * Builds (or waits for) the preprocessing cache with ensureCache and prints its index fields as JSON. This is how
 * a trainer that is not written in TypeScript gets exactly the bytes @hypersweep/data would give it.
 */
import { ensureCache } from "./cache.ts";

const [versionDir, size, cacheRoot] = process.argv.slice(2);
const imageSize = Number(size);
if (!versionDir || !cacheRoot || !Number.isInteger(imageSize) || imageSize < 1) {
  process.stderr.write("usage: hypersweep-cache <versionDir> <imageSize> <cacheRoot>\n");
  process.exit(2);
}
try {
  const { dir, count, size: s, contentHash, built } = await ensureCache(versionDir, imageSize, cacheRoot);
  process.stdout.write(`${JSON.stringify({ dir, contentHash, size: s, count, built })}\n`);
} catch (e) {
  process.stderr.write(`hypersweep-cache: ${(e as Error).message}\n`);
  process.exit(1);
}
