import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ManifestRow } from "../src/index.ts";
import { checkImageFile } from "../src/validate.ts";
import { tempDir } from "./helpers.ts";

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir("validate");
});
afterAll(() => tmp?.cleanup());

const row = (fileName: string) => ({ row: 9, fileName }) as ManifestRow;

async function encoded(format: "png" | "jpg" | "gif"): Promise<Buffer> {
  const raw = Buffer.alloc(48 * 48 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 31) % 251;
  const img = sharp(raw, { raw: { width: 48, height: 48, channels: 3 } });
  return format === "png" ? img.png().toBuffer() : format === "jpg" ? img.jpeg().toBuffer() : img.gif().toBuffer();
}

describe("checkImageFile", () => {
  for (const format of ["png", "jpg", "gif"] as const) {
    it(`accepts a complete ${format} and rejects it cut anywhere, naming row, column and file`, async () => {
      const buf = await encoded(format);
      await writeFile(join(tmp.path, `ok.${format}`), buf);
      const ok = await checkImageFile(tmp.path, row(`ok.${format}`));
      expect(Array.isArray(ok)).toBe(false);
      for (const frac of [0.2, 0.5, 0.9, 0.99]) {
        const name = `cut-${frac}.${format}`;
        await writeFile(join(tmp.path, name), buf.subarray(0, Math.floor(buf.length * frac)));
        const res = await checkImageFile(tmp.path, row(name));
        expect(res, `${name} should be rejected`).toMatchObject([{ code: "undecodable_image", row: 9, column: "file_name", value: name }]);
      }
    });
  }

  it("gives the same hash for the same bytes under another name", async () => {
    const buf = await encoded("png");
    await writeFile(join(tmp.path, "a.png"), buf);
    await writeFile(join(tmp.path, "b.png"), buf);
    const [a, b] = await Promise.all([checkImageFile(tmp.path, row("a.png")), checkImageFile(tmp.path, row("b.png"))]);
    expect((a as { sha256: string }).sha256).toBe((b as { sha256: string }).sha256);
  });

  it("rejects an extension it cannot import", async () => {
    await writeFile(join(tmp.path, "scan.bmp"), await encoded("png"));
    expect(await checkImageFile(tmp.path, row("scan.bmp"))).toMatchObject([{ code: "wrong_extension", value: "scan.bmp" }]);
  });
});
