/**
 * The torchvision state_dict of each architecture as names and shapes, computed from the architectures'
 * definitions (3 input channels), without building a model: what pretrained weights must hold. The classifier
 * head (`fc` for ResNets and the small CNN, `classifier` for DenseNets) is listed apart, since a sweep replaces it
 * for its scenario's classes. packages/models' tests check this table against the models it builds.
 */
import type { Architecture } from "./trainer-contract.ts";

export interface TensorShape {
  name: string;
  shape: number[];
}

export interface ArchitectureTensors {
  /** Every backbone tensor (convolutions, BatchNorm parameters and running statistics), in torchvision's order. */
  backbone: TensorShape[];
  /** BatchNorm prefixes, each of which may also carry a `.num_batches_tracked` counter in a torch file. */
  batchNorms: string[];
  /** The head's name prefix and its input features (its output size is the number of classes). */
  head: { name: string; inFeatures: number };
}

class Builder {
  readonly backbone: TensorShape[] = [];
  readonly batchNorms: string[] = [];
  conv(name: string, out: number, inC: number, k: number): void {
    this.backbone.push({ name: `${name}.weight`, shape: [out, inC, k, k] });
  }
  bn(name: string, c: number): void {
    this.batchNorms.push(name);
    for (const s of ["weight", "bias", "running_mean", "running_var"]) this.backbone.push({ name: `${name}.${s}`, shape: [c] });
  }
  done(head: string, inFeatures: number): ArchitectureTensors {
    return { backbone: this.backbone, batchNorms: this.batchNorms, head: { name: head, inFeatures } };
  }
}

const RESNET = {
  resnet18: { bottleneck: false, layers: [2, 2, 2, 2], widthPerGroup: 64 },
  resnet50: { bottleneck: true, layers: [3, 4, 6, 3], widthPerGroup: 64 },
  wide_resnet50_2: { bottleneck: true, layers: [3, 4, 6, 3], widthPerGroup: 128 },
} as const;

function resnet(spec: (typeof RESNET)[keyof typeof RESNET]): ArchitectureTensors {
  const b = new Builder();
  b.conv("conv1", 64, 3, 7);
  b.bn("bn1", 64);
  let inC = 64;
  [64, 128, 256, 512].forEach((planes, li) => {
    for (let i = 0; i < spec.layers[li]!; i++) {
      const p = `layer${li + 1}.${i}`, stride = i === 0 && li > 0 ? 2 : 1;
      const outC = spec.bottleneck ? planes * 4 : planes;
      if (spec.bottleneck) {
        const width = Math.floor(planes * (spec.widthPerGroup / 64));
        b.conv(`${p}.conv1`, width, inC, 1); b.bn(`${p}.bn1`, width);
        b.conv(`${p}.conv2`, width, width, 3); b.bn(`${p}.bn2`, width);
        b.conv(`${p}.conv3`, outC, width, 1); b.bn(`${p}.bn3`, outC);
      } else {
        b.conv(`${p}.conv1`, planes, inC, 3); b.bn(`${p}.bn1`, planes);
        b.conv(`${p}.conv2`, planes, planes, 3); b.bn(`${p}.bn2`, planes);
      }
      if (stride !== 1 || inC !== outC) { b.conv(`${p}.downsample.0`, outC, inC, 1); b.bn(`${p}.downsample.1`, outC); }
      inC = outC;
    }
  });
  return b.done("fc", inC);
}

const DENSENET = { densenet121: [6, 12, 24, 16], densenet169: [6, 12, 32, 32] } as const;

/** DenseNet-BC: growth 32, bottleneck 4 × growth, 64 initial features, compression 0.5. */
function densenet(blocks: readonly number[]): ArchitectureTensors {
  const growth = 32, inner = 4 * growth, b = new Builder();
  b.conv("features.conv0", 64, 3, 7);
  b.bn("features.norm0", 64);
  let features = 64;
  blocks.forEach((n, bi) => {
    for (let l = 0; l < n; l++) {
      const p = `features.denseblock${bi + 1}.denselayer${l + 1}`, inC = features + l * growth;
      b.bn(`${p}.norm1`, inC); b.conv(`${p}.conv1`, inner, inC, 1);
      b.bn(`${p}.norm2`, inner); b.conv(`${p}.conv2`, growth, inner, 3);
    }
    features += n * growth;
    if (bi < blocks.length - 1) {
      const p = `features.transition${bi + 1}`;
      b.bn(`${p}.norm`, features); b.conv(`${p}.conv`, Math.floor(features / 2), features, 1);
      features = Math.floor(features / 2);
    }
  });
  b.bn("features.norm5", features);
  return b.done("classifier", features);
}

function smallCnn(): ArchitectureTensors {
  const b = new Builder();
  let inC = 3;
  [16, 32, 64, 128].forEach((w, i) => {
    b.conv(`features.${i}.conv`, w, inC, 3);
    b.bn(`features.${i}.bn`, w);
    inC = w;
  });
  return b.done("fc", inC);
}

const cache = new Map<Architecture, ArchitectureTensors>();

/** The tensors pretrained weights for `arch` must hold (computed once per architecture). */
export function architectureTensors(arch: Architecture): ArchitectureTensors {
  let t = cache.get(arch);
  if (!t) {
    t = arch === "small_cnn" ? smallCnn() : arch === "densenet121" || arch === "densenet169" ? densenet(DENSENET[arch]) : resnet(RESNET[arch]);
    cache.set(arch, t);
  }
  return t;
}

const FLOAT_DTYPES = new Set(["F32", "F16", "BF16", "F64"]);

/** One tensor of a file, as its header describes it. */
export interface FileTensor {
  name: string;
  dtype: string;
  shape: number[];
}

/** Why a file does not fit an architecture: the first tensor that is missing, of the wrong shape or type, or extra. */
export interface TensorMismatch {
  tensor: string;
  kind: "missing" | "shape" | "dtype" | "extra";
  message: string;
}

const fmt = (s: readonly number[]) => `[${s.join(", ")}]`;

/**
 * Checks a file's tensors against `arch` in torchvision's order: every backbone tensor present with its shape
 * and a floating-point type; the head optional (it is replaced) but, when present, taking the backbone's
 * features; BatchNorm `num_batches_tracked` counters allowed; nothing else. Returns the first mismatch or null.
 */
export function checkPretrainedTensors(arch: Architecture, tensors: readonly FileTensor[]): TensorMismatch | null {
  const want = architectureTensors(arch);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (const w of want.backbone) {
    const t = byName.get(w.name);
    if (!t) return { tensor: w.name, kind: "missing", message: `tensor ${w.name} (shape ${fmt(w.shape)}) is missing: the file does not hold ${arch} weights` };
    if (fmt(t.shape) !== fmt(w.shape)) return { tensor: w.name, kind: "shape", message: `tensor ${w.name}: the file has shape ${fmt(t.shape)}, ${arch} expects ${fmt(w.shape)}` };
    if (!FLOAT_DTYPES.has(t.dtype)) return { tensor: w.name, kind: "dtype", message: `tensor ${w.name}: dtype ${t.dtype}, expected a floating-point type (F32, F16, BF16 or F64)` };
  }
  const hw = byName.get(`${want.head.name}.weight`), hb = byName.get(`${want.head.name}.bias`);
  if (hw && (hw.shape.length !== 2 || hw.shape[1] !== want.head.inFeatures || hw.shape[0]! < 1)) {
    return { tensor: hw.name, kind: "shape", message: `tensor ${hw.name}: the file has shape ${fmt(hw.shape)}, ${arch}'s head takes [classes, ${want.head.inFeatures}] (it is replaced for the scenario's classes)` };
  }
  if (hb && (hb.shape.length !== 1 || (hw && hb.shape[0] !== hw.shape[0]))) {
    return { tensor: hb.name, kind: "shape", message: `tensor ${hb.name}: the file has shape ${fmt(hb.shape)}, expected [${hw ? hw.shape[0] : "classes"}]` };
  }
  const known = new Set([...want.backbone.map((w) => w.name), ...want.batchNorms.map((b) => `${b}.num_batches_tracked`), `${want.head.name}.weight`, `${want.head.name}.bias`]);
  const extra = tensors.find((t) => !known.has(t.name));
  if (extra) return { tensor: extra.name, kind: "extra", message: `tensor ${extra.name} is not part of ${arch}: the file holds other weights` };
  return null;
}

/** Where imported weights live under the data root: content-addressed, shared by the API and every worker. */
export function weightsRelativePath(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${JSON.stringify(sha256)}`);
  return `weights/${sha256}.safetensors`;
}
