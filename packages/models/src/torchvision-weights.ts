/**
 * Weight exchange with torchvision `state_dict`s, by name. A tf layer named `layer1.0.conv1` holds the
 * torch tensors `layer1.0.conv1.weight` (and `.bias`); layouts convert as:
 *   Conv2d.weight  (O, I, KH, KW) ↔ Conv2D kernel (KH, KW, I, O)
 *   Linear.weight  (out, in)      ↔ Dense kernel (in, out)
 *   BatchNorm2d weight/bias/running_mean/running_var ↔ gamma/beta/moving_mean/moving_variance
 * `num_batches_tracked` counters have no tf counterpart and are ignored.
 */
import type { LayersModel, Tf } from "./types.ts";
import type { SafeTensors } from "./safetensors.ts";

export class WeightImportError extends Error {
  readonly code: "WEIGHT_MISSING" | "WEIGHT_SHAPE_MISMATCH";
  constructor(code: "WEIGHT_MISSING" | "WEIGHT_SHAPE_MISMATCH", readonly tensor: string, message: string) {
    super(message);
    this.name = "WeightImportError";
    this.code = code;
  }
}

type Layer = LayersModel["layers"][number];
type Kind = "conv" | "bn" | "dense";

/** One torch tensor ↔ one tf weight of a layer. */
interface Slot { torchName: string; kind: Kind; role: "kernel" | "vector"; tfShape: number[] }

const BN_SUFFIXES: Record<string, string> = { gamma: "weight", beta: "bias", moving_mean: "running_mean", moving_variance: "running_var" };

function kindOf(layer: Layer): Kind | null {
  switch (layer.getClassName()) {
    case "Conv2D":
    case "TorchConv2D": return "conv";
    case "BatchNormalization": return "bn";
    case "Dense": return "dense";
    default: return null;
  }
}

function slotsOf(layer: Layer, kind: Kind): Slot[] {
  return layer.weights.map((w) => {
    const short = w.originalName.slice(w.originalName.lastIndexOf("/") + 1);
    const suffix = kind === "bn" ? BN_SUFFIXES[short] : short === "kernel" ? "weight" : short === "bias" ? "bias" : undefined;
    if (!suffix) throw new Error(`layer ${layer.name}: weight ${w.originalName} has no torchvision counterpart`);
    return { torchName: `${layer.name}.${suffix}`, kind, role: short === "kernel" ? "kernel" : "vector", tfShape: w.shape as number[] };
  });
}

function torchShape(s: Slot): number[] {
  if (s.role !== "kernel") return s.tfShape;
  if (s.kind === "conv") { const [kh, kw, i, o] = s.tfShape as [number, number, number, number]; return [o, i, kh, kw]; }
  const [i, o] = s.tfShape as [number, number]; return [o, i];
}

/** torch layout → tf layout (or back with `inverse`), values row-major. */
function convertLayout(s: Slot, src: Float32Array, inverse = false): Float32Array {
  if (s.role !== "kernel") return src;
  const out = new Float32Array(src.length);
  if (s.kind === "dense") {
    const [i, o] = s.tfShape as [number, number];
    for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) {
      if (inverse) out[a * i + b] = src[b * o + a]!; else out[b * o + a] = src[a * i + b]!;
    }
    return out;
  }
  const [kh, kw, ci, co] = s.tfShape as [number, number, number, number];
  for (let o = 0; o < co; o++) for (let c = 0; c < ci; c++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    const t = ((o * ci + c) * kh + y) * kw + x, f = ((y * kw + x) * ci + c) * co + o;
    if (inverse) out[t] = src[f]!; else out[f] = src[t]!;
  }
  return out;
}

/** The classifier: the Dense layer that produces the model output (`fc` for ResNets, `classifier` for DenseNets). */
export function headLayerName(model: LayersModel): string {
  return model.outputs[0]!.sourceLayer.name;
}

export interface ImportOptions {
  /**
   * true: never import the head (fresh classifier). false: the head must match (else WEIGHT_SHAPE_MISMATCH).
   * undefined: import it when its shapes match, else keep the model's own (new class count). @defaultValue undefined
   */
  skipHead?: boolean;
}

export interface ImportReport {
  /** torch tensor names copied into the model. */
  imported: string[];
  /** True when the classifier kept its own initialisation. */
  headReplaced: boolean;
  /** Tensors in the file that the model did not use (num_batches_tracked excluded). */
  unused: string[];
}

function headMatches(layer: Layer, tensors: SafeTensors): boolean {
  return slotsOf(layer, "dense").every((s) => {
    const t = tensors.get(s.torchName);
    return t !== undefined && t.shape.join(",") === torchShape(s).join(",");
  });
}

function readSlot(s: Slot, tensors: SafeTensors): Float32Array {
  const t = tensors.get(s.torchName);
  const want = torchShape(s);
  if (!t) throw new WeightImportError("WEIGHT_MISSING", s.torchName, `tensor ${s.torchName} (shape [${want}]) is missing from the weights file`);
  if (t.shape.join(",") !== want.join(",")) {
    throw new WeightImportError("WEIGHT_SHAPE_MISMATCH", s.torchName, `tensor ${s.torchName}: the file has shape [${t.shape}], the model expects [${want}]`);
  }
  return convertLayout(s, t.toFloat32());
}

/**
 * Copies torchvision-named tensors into `model` (built with the same `tf`). All tensors are checked before
 * any weight is written, so a failed import leaves the model unchanged.
 */
export function importTorchvisionWeights(tf: Tf, model: LayersModel, tensors: SafeTensors, opts: ImportOptions = {}): ImportReport {
  const head = headLayerName(model);
  const headLayer = model.getLayer(head);
  const headReplaced = opts.skipHead === true || (opts.skipHead === undefined && !headMatches(headLayer, tensors));
  const pending: Array<{ layer: Layer; values: Array<{ data: Float32Array; shape: number[] }> }> = [];
  const imported: string[] = [];
  for (const layer of model.layers) {
    const kind = kindOf(layer);
    if (!kind || (layer.name === head && headReplaced)) continue;
    const slots = slotsOf(layer, kind);
    pending.push({ layer, values: slots.map((s) => ({ data: readSlot(s, tensors), shape: s.tfShape })) });
    imported.push(...slots.map((s) => s.torchName));
  }
  for (const { layer, values } of pending) {
    const ts = values.map((v) => tf.tensor(v.data, v.shape, "float32"));
    layer.setWeights(ts);
    tf.dispose(ts);
  }
  const used = new Set(imported);
  if (headReplaced) for (const s of slotsOf(headLayer, "dense")) used.add(s.torchName);
  const unused = [...tensors.keys()].filter((n) => !used.has(n) && !n.endsWith(".num_batches_tracked"));
  return { imported, headReplaced, unused };
}

/** The model's weights in torchvision names and layouts (for encodeSafetensors → torch `load_state_dict(strict=False)`). */
export async function exportTorchvisionWeights(model: LayersModel): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const layer of model.layers) {
    const kind = kindOf(layer);
    if (!kind) continue;
    const slots = slotsOf(layer, kind);
    for (let k = 0; k < slots.length; k++) {
      const s = slots[k]!;
      const data = (await layer.weights[k]!.read().data()) as Float32Array;
      out.set(s.torchName, { shape: torchShape(s), data: convertLayout(s, data, true) });
    }
  }
  return out;
}

/** The model's tensors as torchvision names and shapes, in layer order (no values read). */
export function torchvisionTensorShapes(model: LayersModel): Array<{ name: string; shape: number[] }> {
  const out: Array<{ name: string; shape: number[] }> = [];
  for (const layer of model.layers) {
    const kind = kindOf(layer);
    if (kind) for (const s of slotsOf(layer, kind)) out.push({ name: s.torchName, shape: torchShape(s) });
  }
  return out;
}
