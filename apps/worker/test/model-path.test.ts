import { describe, expect, it } from "vitest";
import { modelPathOnNode } from "../src/evaluation-job.ts";

describe("the model an evaluation reads", () => {
  it("is a stored model under the node's data root, or the path a trainer published as it is", () => {
    const id = "c".repeat(64);
    expect(modelPathOnNode(`models/${id}/model.json`, "/srv/shared/data")).toBe(`/srv/shared/data/models/${id}/model.json`);
    expect(modelPathOnNode("/srv/shared/runs/t/output/model.json", "/srv/shared/data")).toBe("/srv/shared/runs/t/output/model.json");
  });
});
