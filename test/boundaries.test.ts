/**
 * The producer side (API, CLI, queue package) never imports BullMQ's Worker: enqueueing must never start
 * consuming. Import cycles and package boundaries are checked by `npm run lint` (dependency-cruiser); this
 * catches what a module-level rule cannot see, a named import.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/stack.ts";

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("producer code", () => {
  it("never imports a BullMQ Worker", () => {
    const producer = [...files(join(ROOT, "apps/api/src")), ...files(join(ROOT, "apps/cli/src")), ...files(join(ROOT, "packages/queue/src"))];
    expect(producer.length).toBeGreaterThan(10);
    const offenders = producer.filter((f) => /import\s*\{[^}]*\bWorker\b[^}]*\}\s*from\s*["']bullmq["']/.test(readFileSync(f, "utf8")));
    expect(offenders.map((f) => relative(ROOT, f))).toEqual([]);
  });
});
