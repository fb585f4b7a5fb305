import { describe, expect, it } from "vitest";
import {
  architectureTensors, checkPretrainedTensors, checkSafetensorsCoverage, parseSafetensorsHeader, safetensorsHeaderLength,
  SafetensorsError, type FileTensor,
} from "../src/index.ts";

/** resnet18 as torchvision saves it: backbone, BatchNorm counters, an ImageNet head. */
function torchvisionResnet18(): FileTensor[] {
  const t = architectureTensors("resnet18");
  return [
    ...t.backbone.map((x) => ({ ...x, dtype: "F32" })),
    ...t.batchNorms.map((b) => ({ name: `${b}.num_batches_tracked`, dtype: "I64", shape: [] })),
    { name: "fc.weight", dtype: "F32", shape: [1000, 512] },
    { name: "fc.bias", dtype: "F32", shape: [1000] },
  ];
}

describe("checkPretrainedTensors", () => {
  it("accepts torchvision's resnet18 state_dict (ImageNet head, counters), and one without a head", () => {
    expect(architectureTensors("resnet18").backbone).toHaveLength(100);
    expect(checkPretrainedTensors("resnet18", torchvisionResnet18())).toBeNull();
    expect(checkPretrainedTensors("resnet18", torchvisionResnet18().filter((t) => !t.name.startsWith("fc.")))).toBeNull();
  });

  it("names the first missing, mis-shaped, non-float or extra tensor", () => {
    const base = torchvisionResnet18();
    const without = base.filter((t) => t.name !== "layer2.0.downsample.0.weight");
    expect(checkPretrainedTensors("resnet18", without)).toMatchObject({ tensor: "layer2.0.downsample.0.weight", kind: "missing" });
    const reshaped = base.map((t) => (t.name === "layer3.1.conv2.weight" ? { ...t, shape: [256, 256, 1, 1] } : t));
    expect(checkPretrainedTensors("resnet18", reshaped)?.message).toBe("tensor layer3.1.conv2.weight: the file has shape [256, 256, 1, 1], resnet18 expects [256, 256, 3, 3]");
    const ints = base.map((t) => (t.name === "bn1.weight" ? { ...t, dtype: "I64" } : t));
    expect(checkPretrainedTensors("resnet18", ints)).toMatchObject({ tensor: "bn1.weight", kind: "dtype" });
    expect(checkPretrainedTensors("resnet18", [...base, { name: "layer5.0.conv1.weight", dtype: "F32", shape: [1] }])).toMatchObject({ tensor: "layer5.0.conv1.weight", kind: "extra" });
    const wrongHead = base.map((t) => (t.name === "fc.weight" ? { ...t, shape: [1000, 2048] } : t));
    expect(checkPretrainedTensors("resnet18", wrongHead)).toMatchObject({ tensor: "fc.weight", kind: "shape" });
  });

  it("tells one architecture's weights from another's", () => {
    const r18 = torchvisionResnet18();
    expect(checkPretrainedTensors("resnet50", r18)).toMatchObject({ tensor: "layer1.0.conv1.weight", kind: "shape" });
    expect(checkPretrainedTensors("densenet121", r18)).toMatchObject({ tensor: "features.conv0.weight", kind: "missing" });
  });
});

function file(header: object, dataLength: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const buf = new Uint8Array(8 + json.length + dataLength);
  new DataView(buf.buffer).setBigUint64(0, BigInt(json.length), true);
  buf.set(json, 8);
  return buf;
}

function parse(buf: Uint8Array) {
  const n = safetensorsHeaderLength(buf.subarray(0, 8));
  const dataLength = buf.length - 8 - n;
  const h = parseSafetensorsHeader(buf.subarray(8, 8 + n), dataLength);
  checkSafetensorsCoverage(h, dataLength);
  return h;
}

describe("safetensors header", () => {
  it("parses entries and metadata", () => {
    const h = parse(file({ __metadata__: { format: "pt" }, a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "I64", shape: [], data_offsets: [8, 16] } }, 16));
    expect(h.tensors).toEqual([
      { name: "a", dtype: "F32", shape: [2], offsets: [0, 8] },
      { name: "b", dtype: "I64", shape: [], offsets: [8, 16] },
    ]);
    expect(h.metadata).toEqual({ format: "pt" });
  });

  it("rejects a gap, an overlap, trailing bytes, bad JSON, a bad entry and a huge header length", () => {
    expect(() => parse(file({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, 8))).toThrow(/tensor a: data_offsets \[4,8\] leave a gap after byte 0/);
    expect(() => parse(file({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, b: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, 8))).toThrow(/tensor b: .* overlap/);
    expect(() => parse(file({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, 8))).toThrow(/4 byte\(s\) after the last tensor/);
    expect(() => parse(file({ a: { dtype: "F32", shape: [2], data_offsets: [0, 4] } }, 4))).toThrow(/tensor a: 4 bytes for shape \[2\] of F32 \(expected 8\)/);
    expect(() => parse(file({ a: { dtype: "Q4", shape: [1], data_offsets: [0, 1] } }, 1))).toThrow(/tensor a: unsupported dtype "Q4"/);
    expect(() => parse(file({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, 0))).toThrow(/outside the 0-byte data section/);
    const notJson = file({}, 0);
    notJson[9] = 0x7b;
    notJson[8] = 0x7b;
    expect(() => parse(notJson)).toThrow(SafetensorsError);
    const huge = new Uint8Array(8);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 62n, true);
    expect(() => safetensorsHeaderLength(huge)).toThrow(/exceeds the limit/);
  });
});
