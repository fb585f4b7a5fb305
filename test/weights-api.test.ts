/**
 * Pretrained weights over HTTP (through the CLI's uploader): validated against the architecture's tensors from
 * the header alone, content-addressed, owned by the team, and named by sweeps (`overrides.pretrained`), with a
 * clear 400 naming the tensor or the field for everything that does not fit.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { architectureTensors } from "@hypersweep/core";
import { encodeSafetensors } from "../packages/models/src/index.ts";
import { importWeightsViaApi } from "../apps/cli/src/commands/weights.ts";
import { ApiError } from "../apps/cli/src/client.ts";
import { eventually, ROOT, startStack, type Stack } from "./helpers/stack.ts";

const LIMIT = 2_000_000;
type T = { shape: number[]; data: Float32Array };

/** small_cnn weights as torchvision names them, values from `seed` (a head of `classes` outputs). */
function smallCnn(seed: number, classes = 3): Map<string, T> {
  const t = architectureTensors("small_cnn");
  const m = new Map<string, T>();
  let k = seed;
  const fill = (shape: number[]) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => ((k = (k * 16807) % 2147483647) / 2147483647) - 0.5) });
  for (const { name, shape } of t.backbone) m.set(name, fill(shape));
  m.set("fc.weight", fill([classes, t.head.inFeatures]));
  m.set("fc.bias", fill([classes]));
  return m;
}

describe("pretrained weights API", () => {
  let s: Stack;
  let dir: string;
  const write = async (name: string, bytes: Uint8Array) => {
    const f = join(dir, name);
    await writeFile(f, bytes);
    return f;
  };
  const upload = (file: string, architecture: string, name: string, apiKey = s.team.apiKey) => importWeightsViaApi(file, { url: s.url, apiKey, architecture, name, progress: false });
  const rejection = async (p: Promise<unknown>) => {
    const err = await p.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  };

  beforeAll(async () => {
    s = await startStack("weights", { apiEnv: { HYPERSWEEP_WEIGHTS_LIMIT: String(LIMIT) } });
    dir = s.tmp;
  });
  afterAll(async () => {
    await s?.close();
  });

  it("imports a file once per content and name, content-addressed, and lists it", async () => {
    const bytes = encodeSafetensors(smallCnn(1));
    const file = await write("small.safetensors", bytes);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const first = await upload(file, "small_cnn", "imagenet");
    expect(first).toMatchObject({ created: true, name: "imagenet", architecture: "small_cnn", sha256, sizeBytes: bytes.length, tensorCount: 22 });
    expect(readdirSync(join(s.tmp, "data", "weights"))).toEqual([`${sha256}.safetensors`]);
    const again = await upload(file, "small_cnn", "imagenet");
    expect(again).toMatchObject({ created: false, id: first.id });
    // Other content under a taken name is a conflict; under a new name it is new weights.
    const other = await write("other.safetensors", encodeSafetensors(smallCnn(2)));
    expect((await rejection(upload(other, "small_cnn", "imagenet"))).status).toBe(409);
    const second = await upload(other, "small_cnn", "chexpert");
    expect(second.created).toBe(true);
    const list = await s.http("GET", "/v1/weights");
    expect(list.body.weights.map((w: { name: string }) => w.name)).toEqual(["chexpert", "imagenet"]);
    expect((await s.http("GET", `/v1/weights/${first.id}`)).body.sha256).toBe(sha256);
    expect((await s.http("GET", "/v1/weights?architecture=resnet18")).body.weights).toEqual([]);
  });

  it("names the first missing, mis-shaped or extra tensor, and keeps nothing of a rejected file", async () => {
    const cases: Array<[string, (m: Map<string, T>) => void, RegExp]> = [
      ["missing", (m) => m.delete("features.2.bn.running_var"), /tensor features\.2\.bn\.running_var \(shape \[64\]\) is missing/],
      ["shape", (m) => m.set("features.1.conv.weight", { shape: [32, 16, 1, 1], data: new Float32Array(512) }), /tensor features\.1\.conv\.weight: the file has shape \[32, 16, 1, 1\], small_cnn expects \[32, 16, 3, 3\]/],
      ["extra", (m) => m.set("features.4.conv.weight", { shape: [1], data: new Float32Array(1) }), /tensor features\.4\.conv\.weight is not part of small_cnn/],
      ["head", (m) => m.set("fc.weight", { shape: [3, 64], data: new Float32Array(192) }), /tensor fc\.weight: the file has shape \[3, 64\], small_cnn's head takes \[classes, 128\]/],
    ];
    for (const [label, mutate, message] of cases) {
      const m = smallCnn(3);
      mutate(m);
      const err = await rejection(upload(await write(`${label}.safetensors`, encodeSafetensors(m)), "small_cnn", label));
      expect(err.status, label).toBe(400);
      expect(err.message, label).toMatch(message);
      expect(err.issues[0]?.path, label).toBe("file");
    }
    // A file for another architecture: its first tensor already tells.
    const wrongArch = await rejection(upload(join(dir, "small.safetensors"), "resnet18", "x"));
    expect(wrongArch.message).toMatch(/tensor conv1\.weight \(shape \[64, 3, 7, 7\]\) is missing/);
    expect(readdirSync(join(s.tmp, "data", "tmp"))).toEqual([]);
    expect(readdirSync(join(s.tmp, "data", "weights"))).toHaveLength(2);
    expect((await s.http("GET", "/v1/weights")).body.weights).toHaveLength(2);
  });

  it("rejects a malformed header with a 400, an oversized file with a 413, and bad fields by name", async () => {
    const good = encodeSafetensors(smallCnn(4));
    const badJson = Uint8Array.from(good);
    badJson[9] = 0x00; // inside the JSON header
    expect((await rejection(upload(await write("bad-json.safetensors", badJson), "small_cnn", "j"))).message).toMatch(/not a valid safetensors file: header is not valid JSON/);
    const longHeader = Uint8Array.from(good);
    new DataView(longHeader.buffer).setBigUint64(0, BigInt(good.length), true);
    expect((await rejection(upload(await write("long.safetensors", longHeader), "small_cnn", "l"))).message).toMatch(/header length \d+ exceeds the file/);
    const hugeHeader = Uint8Array.from(good);
    new DataView(hugeHeader.buffer).setBigUint64(0, 2n ** 60n, true);
    expect((await rejection(upload(await write("huge.safetensors", hugeHeader), "small_cnn", "h"))).message).toMatch(/exceeds the limit of/);
    const trailing = new Uint8Array(good.length + 3);
    trailing.set(good);
    expect((await rejection(upload(await write("trailing.safetensors", trailing), "small_cnn", "t"))).message).toMatch(/3 byte\(s\) after the last tensor/);
    expect((await rejection(upload(await write("tiny.safetensors", new Uint8Array(5)), "small_cnn", "t"))).message).toMatch(/file too short \(5 bytes\)/);
    const big = join(dir, "big.safetensors");
    await truncate(await write("big.safetensors", new Uint8Array(0)), LIMIT + 1);
    const tooBig = await rejection(upload(big, "small_cnn", "big"));
    expect(tooBig.status).toBe(413);
    expect(tooBig.message).toContain("HYPERSWEEP_WEIGHTS_LIMIT");
    const file = await write("fields.safetensors", good);
    const arch = await rejection(upload(file, "vgg16", "v"));
    expect([arch.status, arch.issues[0]?.path]).toEqual([400, "architecture"]);
    const name = await rejection(upload(file, "small_cnn", "../etc"));
    expect([name.status, name.issues[0]?.path]).toEqual([400, "name"]);
    expect(readdirSync(join(s.tmp, "data", "tmp"))).toEqual([]);
    expect((await s.http("GET", "/v1/weights")).body.weights).toHaveLength(2);
  });

  it("hides one team's weights from another", async () => {
    const other = await s.newTeam("other-team");
    const mine = (await s.http("GET", "/v1/weights")).body.weights[0];
    expect((await s.http("GET", "/v1/weights", undefined, other.apiKey)).body.weights).toEqual([]);
    expect((await s.http("GET", `/v1/weights/${mine.id}`, undefined, other.apiKey)).status).toBe(404);
    await s.addDataset(other.id, "theirs");
    const sweep = await s.http("POST", "/v1/sweeps", { dataset: "theirs", scenario: { modality: "ct", task: "binary" }, architectures: ["small_cnn"], overrides: { pretrained: { small_cnn: mine.name } } }, other.apiKey);
    expect(sweep.status).toBe(400);
    expect(sweep.body.issues).toEqual([{ path: "overrides.pretrained.small_cnn", message: expect.stringContaining(`unknown weights '${mine.name}' for small_cnn`) }]);
  });

  it("plans sweeps that name weights per architecture, and names the field when they do not fit", async () => {
    const body = (architectures: string[], pretrained: Record<string, string>) => ({
      dataset: "stock", scenario: { modality: "ct", task: "binary" }, architectures, seed: 3,
      overrides: { learningRates: [1e-3], subsetsPerRate: 1, searchEpochs: 1, pretrained },
    });
    const bad: Array<[string[], Record<string, string>, string, RegExp]> = [
      [["small_cnn"], { small_cnn: "nope" }, "overrides.pretrained.small_cnn", /unknown weights 'nope' for small_cnn \(yours: chexpert, imagenet\)/],
      [["resnet18"], { resnet18: "imagenet" }, "overrides.pretrained.resnet18", /weights 'imagenet' are for small_cnn, not resnet18/],
      [["small_cnn"], { resnet18: "imagenet" }, "overrides.pretrained.resnet18", /resnet18 is not one of this sweep's architectures/],
      [["small_cnn"], { vgg16: "imagenet" }, "overrides.pretrained.vgg16", /./],
    ];
    for (const [archs, pre, path, message] of bad) {
      const r = await s.http("POST", "/v1/sweeps", body(archs, pre));
      expect(r.status, path).toBe(400);
      expect(r.body.issues.map((i: { path: string }) => i.path), path).toContain(path);
      expect(JSON.stringify(r.body), path).toMatch(message);
    }
    expect(await s.db.sweep.count()).toBe(0);

    const weights = (await s.http("GET", "/v1/weights")).body.weights.find((w: { name: string }) => w.name === "imagenet");
    const ok = await s.http("POST", "/v1/sweeps", body(["small_cnn", "resnet18"], { small_cnn: "imagenet" }));
    expect(ok.status).toBe(201);
    const plain = await s.http("POST", "/v1/sweeps", body(["small_cnn", "resnet18"], {}));
    expect(plain.body.planHash).not.toBe(ok.body.planHash);
    await s.http("POST", `/v1/sweeps/${ok.body.id}/cancel`);
    await s.http("POST", `/v1/sweeps/${plain.body.id}/cancel`);
    const sweep = await s.http("GET", `/v1/sweeps/${ok.body.id}`);
    expect(sweep.body.spec.pretrained).toEqual({ small_cnn: { name: "imagenet", sha256: weights.sha256 } });
    const { body: listed } = await s.http("GET", `/v1/sweeps/${ok.body.id}/trials`);
    const specs = await Promise.all(listed.trials.map(async (t: { id: string }) => (await s.http("GET", `/v1/trials/${t.id}`)).body));
    expect(specs.map((t) => [t.architecture, t.spec.pretrainedWeights ?? null])).toEqual([
      ["small_cnn", { name: "imagenet", sha256: weights.sha256 }],
      ["resnet18", null],
    ]);
  });

  it("takes --pretrained on the CLI's submit, and explains a name that does not resolve", async () => {
    const cli = async (args: string[]) => {
      try {
        const r = await promisify(execFile)("node", ["--import", "tsx", join(ROOT, "apps/cli/src/main.ts"), ...args], { cwd: ROOT, env: { ...process.env, HYPERSWEEP_URL: s.url, HYPERSWEEP_API_KEY: s.team.apiKey } });
        return { code: 0, stdout: r.stdout, stderr: r.stderr };
      } catch (e) {
        return e as { code: number; stdout: string; stderr: string };
      }
    };
    const bad = await cli(["submit", "--dataset", "stock", "--arch", "small_cnn", "--epochs", "1", "--pretrained", "small_cnn=nope"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("- overrides.pretrained.small_cnn: unknown weights 'nope' for small_cnn");
    const ok = await cli(["submit", "--dataset", "stock", "--arch", "small_cnn", "--epochs", "1", "--pretrained", "small_cnn=imagenet"]);
    expect(ok.stdout).toMatch(/^sweep [0-9a-f-]{36}: 20 trials/);
    const id = ok.stdout.split(" ")[1]!.replace(":", "");
    await s.http("POST", `/v1/sweeps/${id}/cancel`);
    expect((await s.http("GET", `/v1/sweeps/${id}`)).body.spec.pretrained.small_cnn.name).toBe("imagenet");
    const list = await cli(["weights", "list", "--arch", "small_cnn"]);
    expect(list.stdout.split("\n")[0]).toMatch(/^name\s+architecture\s+sha256\s+size\s+tensors\s+imported$/);
    expect(list.stdout).toMatch(/\nimagenet\s+small_cnn\s+[0-9a-f]{16}\s+0\.4 MB\s+22\s/);
  }, 60_000);

  it("carries the weights into the final training of the winner", async () => {
    const weights = (await s.http("GET", "/v1/weights?architecture=small_cnn")).body.weights.find((w: { name: string }) => w.name === "imagenet");
    await s.startWorker();
    const sweep = await s.http("POST", "/v1/sweeps", {
      dataset: "stock", scenario: { modality: "ct", task: "binary" }, architectures: ["small_cnn"], seed: 4,
      overrides: { learningRates: [1e-3], subsetsPerRate: 1, searchEpochs: 1, finalEpochs: 2, pretrained: { small_cnn: "imagenet" } },
    });
    expect(sweep.status).toBe(201);
    const finalId = await eventually(async () => {
      const r = await s.http("POST", `/v1/sweeps/${sweep.body.id}/final`, {});
      return r.status < 300 ? (r.body.trials[0]?.id as string) : null;
    }, 60_000, 250);
    const final = (await s.http("GET", `/v1/trials/${finalId}`)).body;
    expect(final.stage).toBe("final");
    expect(final.spec.pretrainedWeights).toEqual({ name: "imagenet", sha256: weights.sha256 });
  }, 90_000);
});
