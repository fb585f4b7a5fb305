import { describe, expect, it } from "vitest";
import { modelIdOf, modelRelativePath, parseModelPath, StoredModelManifest } from "../src/stored-model.ts";

const A = "a".repeat(64);
const B = "b".repeat(64);

describe("stored final models", () => {
  it("an id hashes the files' names, hashes and sizes and the main file, whatever the listing order", () => {
    const m = { main: "model.json", files: [{ name: "model.json", sha256: A, bytes: 10 }, { name: "weights.bin", sha256: B, bytes: 20 }] };
    const id = modelIdOf(m);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(modelIdOf({ ...m, files: [...m.files].reverse() })).toBe(id);
    expect(modelIdOf({ ...m, files: [m.files[0]!, { ...m.files[1]!, sha256: A }] })).not.toBe(id);
    expect(modelIdOf({ ...m, files: [m.files[0]!, { ...m.files[1]!, bytes: 21 }] })).not.toBe(id);
    expect(modelIdOf({ ...m, main: "weights.bin" })).not.toBe(id);
  });

  it("a manifest names its main file among unique plain file names", () => {
    const r = StoredModelManifest.safeParse({ main: "x.json", files: [{ name: "model.json", sha256: A, bytes: 1 }, { name: "model.json", sha256: B, bytes: 1 }] });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join("."))).toEqual(["files.1.name", "main"]);
    expect(StoredModelManifest.safeParse({ main: "../m", files: [{ name: "../m", sha256: A, bytes: 1 }] }).success).toBe(false);
  });

  it("a result's weightsPath names a stored model relative to the data root, or resolved under one; node paths are not", () => {
    expect(modelRelativePath(A, "model.json")).toBe(`models/${A}/model.json`);
    expect(parseModelPath(`models/${A}/model.json`)).toEqual({ modelId: A, name: "model.json", relative: true });
    expect(parseModelPath(`/srv/data/models/${A}/model.safetensors`)).toEqual({ modelId: A, name: "model.safetensors", relative: false });
    expect(parseModelPath("/runs/7f3e/output/model.json")).toBeNull();
    expect(parseModelPath(`models/${A}/sub/model.json`)).toBeNull();
    expect(() => modelRelativePath("abc", "model.json")).toThrow(/not a model id/);
  });
});
