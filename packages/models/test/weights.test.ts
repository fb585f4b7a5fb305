import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildModel, encodeSafetensors, exportTorchvisionWeights, importTorchvisionWeights, loadSafetensors,
  parseSafetensors, SafetensorsError, WeightImportError, type LayersModel,
} from "../src/index.ts";

// Forward passes are not needed here: the plain cpu backend is enough.
let dir: string;
beforeAll(async () => {
  await tf.setBackend("cpu");
  dir = await mkdtemp(path.join(tmpdir(), "hs-weights-"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** torch-layout tensors for small_cnn where every value encodes its own torch index. */
function torchStateDict(numClasses: number): Map<string, { shape: number[]; data: Float32Array }> {
  const sd = new Map<string, { shape: number[]; data: Float32Array }>();
  const fill = (name: string, shape: number[], f: (i: number) => number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    sd.set(name, { shape, data: Float32Array.from({ length: n }, (_, i) => f(i)) });
  };
  let cin = 3;
  [16, 32, 64, 128].forEach((c, k) => {
    fill(`features.${k}.conv.weight`, [c, cin, 3, 3], (i) => i / 1000 + k);
    fill(`features.${k}.bn.weight`, [c], (i) => 1 + i / 100);
    fill(`features.${k}.bn.bias`, [c], (i) => -i / 100);
    fill(`features.${k}.bn.running_mean`, [c], (i) => i / 10);
    fill(`features.${k}.bn.running_var`, [c], (i) => 2 + i);
    cin = c;
  });
  fill("fc.weight", [numClasses, 128], (i) => i);
  fill("fc.bias", [numClasses], (i) => 0.5 + i);
  return sd;
}

const weightsOf = (m: LayersModel, layer: string) => m.getLayer(layer).getWeights().map((w) => w.arraySync());

describe("safetensors", () => {
  it("round-trips float32 tensors through encode and parse", () => {
    const buf = encodeSafetensors([["a.weight", { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) }]], { format: "pt" });
    const t = parseSafetensors(buf).get("a.weight")!;
    expect(t.dtype).toBe("F32");
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(t.toFloat32())).toEqual([1, 2, 3, 4, 5, -6.5]);
  });

  it("decodes F16 and BF16 values", () => {
    const header = JSON.stringify({ h: { dtype: "F16", shape: [3], data_offsets: [0, 6] }, b: { dtype: "BF16", shape: [1], data_offsets: [6, 8] } });
    const buf = new Uint8Array(8 + header.length + 8);
    const dv = new DataView(buf.buffer);
    dv.setBigUint64(0, BigInt(header.length), true);
    buf.set(new TextEncoder().encode(header), 8);
    const o = 8 + header.length;
    dv.setUint16(o, 0x3c00, true); // 1.0
    dv.setUint16(o + 2, 0xc000, true); // -2.0
    dv.setUint16(o + 4, 0x3555, true); // 0.33325
    dv.setUint16(o + 6, 0x4049, true); // bf16 3.140625
    const ts = parseSafetensors(buf);
    expect(Array.from(ts.get("h")!.toFloat32())).toEqual([1, -2, 0.333251953125]);
    expect(ts.get("b")!.toFloat32()[0]).toBe(3.140625);
  });

  it("rejects a tensor whose data_offsets leave the file, naming it", () => {
    const header = JSON.stringify({ w: { dtype: "F32", shape: [4], data_offsets: [0, 16] } });
    const buf = new Uint8Array(8 + header.length + 8);
    new DataView(buf.buffer).setBigUint64(0, BigInt(header.length), true);
    buf.set(new TextEncoder().encode(header), 8);
    expect(() => parseSafetensors(buf)).toThrow(SafetensorsError);
    expect(() => parseSafetensors(buf)).toThrow(/tensor w: data_offsets \[0,16\] outside the 8-byte data section/);
    expect(() => parseSafetensors(new Uint8Array(4))).toThrow(/too short/);
  });
});

describe("torchvision weight import", () => {
  it("imports a safetensors file into small_cnn with torch → tf layouts", async () => {
    const file = path.join(dir, "small.safetensors");
    await writeFile(file, encodeSafetensors(torchStateDict(3)));
    const m = buildModel(tf, "small_cnn", { numClasses: 3, imageSize: 16 });
    const report = importTorchvisionWeights(tf, m, await loadSafetensors(file));
    expect(report.headReplaced).toBe(false);
    expect(report.unused).toEqual([]);
    expect(report.imported).toHaveLength(4 * 5 + 2);

    // Conv kernel HWIO[kh][kw][i][o] = torch OIHW[o][i][kh][kw] = ((o*Ci + i)*3 + kh)*3 + kw) / 1000 + k.
    const [kernel] = weightsOf(m, "features.1.conv") as [number[][][][]];
    expect(kernel[2]![1]![5]![7]).toBeCloseTo((((7 * 16 + 5) * 3 + 2) * 3 + 1) / 1000 + 1, 5);
    expect(kernel[0]![2]![15]![31]).toBeCloseTo((((31 * 16 + 15) * 3 + 0) * 3 + 2) / 1000 + 1, 5);
    const [gamma, beta, mean, variance] = weightsOf(m, "features.2.bn") as number[][];
    expect([gamma![3], beta![3], mean![3], variance![3]].map((v) => Number(v!.toFixed(5)))).toEqual([1.03, -0.03, 0.3, 5]);
    // Dense kernel (in, out) = torch (out, in) transposed.
    const [fcK, fcB] = weightsOf(m, "fc") as [number[][], number[]];
    expect(fcK[10]![2]).toBe(2 * 128 + 10);
    expect(fcB).toEqual([0.5, 1.5, 2.5]);
  });

  it("keeps a fresh head when the class count differs, and can be told to skip it", () => {
    const sd = parseSafetensors(encodeSafetensors(torchStateDict(1000)));
    const m = buildModel(tf, "small_cnn", { numClasses: 2, imageSize: 16, seed: 3 });
    const before = weightsOf(m, "fc");
    const report = importTorchvisionWeights(tf, m, sd);
    expect(report.headReplaced).toBe(true);
    expect(weightsOf(m, "fc")).toEqual(before);
    expect(weightsOf(m, "features.0.bn")[3]).toEqual(Array.from({ length: 16 }, (_, i) => 2 + i)); // the body was imported
    expect(() => importTorchvisionWeights(tf, m, sd, { skipHead: false })).toThrow(
      "tensor fc.weight: the file has shape [1000,128], the model expects [2,128]",
    );
  });

  it("a shape mismatch names the tensor and both shapes, and leaves the model unchanged", () => {
    const sd = torchStateDict(3);
    sd.set("features.3.conv.weight", { shape: [128, 64, 1, 1], data: new Float32Array(128 * 64) });
    const m = buildModel(tf, "small_cnn", { numClasses: 3, imageSize: 16, seed: 4 });
    const before = weightsOf(m, "features.0.conv");
    let err: unknown;
    try {
      importTorchvisionWeights(tf, m, parseSafetensors(encodeSafetensors(sd)));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WeightImportError);
    expect((err as WeightImportError).code).toBe("WEIGHT_SHAPE_MISMATCH");
    expect((err as Error).message).toBe("tensor features.3.conv.weight: the file has shape [128,64,1,1], the model expects [128,64,3,3]");
    expect(weightsOf(m, "features.0.conv")).toEqual(before);
  });

  it("a missing tensor is an error naming it", () => {
    const sd = torchStateDict(3);
    sd.delete("features.1.bn.running_var");
    const m = buildModel(tf, "small_cnn", { numClasses: 3, imageSize: 16 });
    expect(() => importTorchvisionWeights(tf, m, parseSafetensors(encodeSafetensors(sd)))).toThrow(
      "tensor features.1.bn.running_var (shape [32]) is missing from the weights file",
    );
  });

  it("export then import reproduces a model's weights exactly", async () => {
    const a = buildModel(tf, "small_cnn", { numClasses: 3, imageSize: 16, seed: 5 });
    const b = buildModel(tf, "small_cnn", { numClasses: 3, imageSize: 16, seed: 6 });
    importTorchvisionWeights(tf, b, parseSafetensors(encodeSafetensors(await exportTorchvisionWeights(a))), { skipHead: false });
    for (const layer of ["features.0.conv", "features.3.bn", "fc"]) expect(weightsOf(b, layer)).toEqual(weightsOf(a, layer));
  });
});
