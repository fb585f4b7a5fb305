/**
 * The pure table of each architecture's torchvision tensors (packages/core, what the API validates uploaded
 * weights against) must equal what the models here actually build: same names, same shapes, head apart.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { ARCHITECTURES, architectureTensors, checkPretrainedTensors } from "@hypersweep/core";
import { buildModel, headLayerName, torchvisionTensorShapes } from "../src/index.ts";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("architectureTensors equals the built models", () => {
  for (const arch of ARCHITECTURES) {
    it(`${arch}`, () => {
      const model = buildModel(tf, arch, { numClasses: 7, imageSize: 32, init: "zeros" });
      try {
        const head = headLayerName(model);
        const built = torchvisionTensorShapes(model);
        const table = architectureTensors(arch);
        const sorted = (xs: Array<{ name: string; shape: number[] }>) => [...xs].sort((a, b) => (a.name < b.name ? -1 : 1));
        expect(sorted(table.backbone)).toEqual(sorted(built.filter((t) => !t.name.startsWith(`${head}.`))));
        expect(table.head.name).toBe(head);
        expect(built.filter((t) => t.name.startsWith(`${head}.`))).toEqual([
          { name: `${head}.weight`, shape: [7, table.head.inFeatures] },
          { name: `${head}.bias`, shape: [7] },
        ]);
        // Every BatchNorm prefix of the table is one of the model's BatchNorm layers.
        const bns = new Set(model.layers.filter((l) => l.getClassName() === "BatchNormalization").map((l) => l.name));
        expect(new Set(table.batchNorms)).toEqual(bns);
        // The built model's own tensors (with its 7-class head) pass the check.
        expect(checkPretrainedTensors(arch, built.map((t) => ({ ...t, dtype: "F32" })))).toBeNull();
      } finally {
        model.dispose();
      }
    }, 60_000);
  }
});
