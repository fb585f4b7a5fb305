/**
 * Synthetic Data-Stock-shaped datasets for demos, tests and benchmarks: patients with 1–4 images each, origins
 * shared by 1–3 patients, both modalities, all sections, all six diagnoses. Each diagnosis adds its own pattern
 * inside the lungs (peripheral blobs, a lobar consolidation, interstitial stripes, ring nodules, diffuse haze);
 * the pattern's strength varies and is now and then (5%) almost absent, so classes overlap a little and a small
 * CNN must learn rather than read off a single pixel. COVID-19's peripheral ground-glass is drawn strongly
 * enough that a small CNN at 32 px tells it from the rest after a few epochs on a few hundred images (the
 * demo's winner reaches a test AUC above 0.9). Deterministic per seed.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { mulberry32 } from "./rng.ts";
import { runLimited } from "./util.ts";
import { DIAGNOSES, type Diagnosis, type Modality, type Section } from "./schema.ts";

export interface SynthOptions {
  /** Number of images (manifest rows). @defaultValue 300 */
  images?: number;
  /** Nominal image side in pixels; actual sizes vary ±25% and are not square. @defaultValue 64 */
  size?: number;
  /** @defaultValue 1 */
  seed?: number;
  /** Rows whose file is broken (zero bytes, truncated, not an image, missing), cycling through the kinds. @defaultValue 0 */
  broken?: number;
  /** Fill the split column (70/15/15 by patient origin group) instead of leaving it for import. @defaultValue false */
  withSplit?: boolean;
}

export type BrokenKind = "zero_bytes" | "truncated" | "not_an_image" | "missing";
export interface SynthResult {
  dir: string;
  manifestPath: string;
  images: number;
  broken: { fileName: string; kind: BrokenKind; row: number }[];
}

/**
 * Diagnosis mix per modality, shaped like the paper's Table 2 (COVID-19 the largest CT class, bacterial and
 * viral pneumonia common among radiographs, fungal pneumonia and ARDS rare there) but less extreme, so that
 * small synthetic datasets still have every class in both modalities.
 */
const DIAGNOSIS_WEIGHTS: Record<Modality, Record<Diagnosis, number>> = {
  ct: { healthy: 0.2, covid19: 0.35, bacterial: 0.1, viral: 0.08, fungal: 0.17, ards: 0.1 },
  radiograph: { healthy: 0.25, covid19: 0.2, bacterial: 0.22, viral: 0.18, fungal: 0.08, ards: 0.07 },
};
const BROKEN_KINDS: BrokenKind[] = ["zero_bytes", "truncated", "not_an_image", "missing"];

interface Plan {
  patientId: string;
  origin: string;
  modality: Modality;
  diagnosis: Diagnosis;
  section: Section;
  fileName: string;
  format: "png" | "jpg" | "gif";
  grey: boolean;
  lung: "full" | "partial" | "none";
  suitable: boolean;
  marks: boolean;
  split: string;
}

export async function synthDataset(outDir: string, opts: SynthOptions = {}): Promise<SynthResult> {
  const n = opts.images ?? 300;
  const size = opts.size ?? 64;
  const seed = opts.seed ?? 1;
  const rand = mulberry32(seed);
  const plans = planRows(n, rand, opts.withSplit ?? false);
  await mkdir(join(outDir, "images"), { recursive: true });
  const brokenCount = Math.min(opts.broken ?? 0, n);
  // Spread broken rows over the dataset deterministically.
  const brokenAt = new Map<number, BrokenKind>();
  for (let k = 0; k < brokenCount; k++) brokenAt.set(Math.floor(((k + 0.5) * n) / brokenCount), BROKEN_KINDS[k % BROKEN_KINDS.length]!);
  const broken: SynthResult["broken"] = [];
  const work = plans.map((p, i) => async () => {
    const kind = brokenAt.get(i);
    const r = mulberry32(seed * 7919 + i);
    const w = Math.round(size * (0.75 + 0.5 * r()));
    const h = Math.round(size * (0.75 + 0.5 * r()));
    // Patterns are smooth, so large images are rendered at ≤ 256 px and resized up: fast at any size.
    const scale = Math.min(1, 256 / Math.max(w, h));
    const [rw, rh] = [Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale))];
    const buf = kind === "missing" ? null : await encode(render(p, rw, rh, r), rw, rh, p, w, h);
    const path = join(outDir, p.fileName);
    if (kind) broken.push({ fileName: p.fileName, kind, row: i + 2 });
    if (kind === "missing") return;
    if (kind === "zero_bytes") return writeFile(path, Buffer.alloc(0));
    if (kind === "truncated") return writeFile(path, buf!.subarray(0, Math.max(8, Math.floor(buf!.length / 3))));
    if (kind === "not_an_image") return writeFile(path, "this is not an image\n");
    return writeFile(path, buf!);
  });
  await runLimited(work, 4, (task) => task());
  const header = "patient_id,file_name,modality,section,diagnosis,marks,split,lung_presence,origin,suitable";
  const lines = plans.map((p) =>
    [p.patientId, p.fileName, p.modality, p.section, p.diagnosis, p.marks, p.split, p.lung, p.origin, p.suitable].join(","),
  );
  const manifestPath = join(outDir, "manifest.csv");
  await writeFile(manifestPath, `${header}\n${lines.join("\n")}\n`);
  broken.sort((a, b) => a.row - b.row);
  return { dir: outDir, manifestPath, images: n, broken };
}

function pick<T extends string>(weights: Record<T, number>, u: number): T {
  let acc = 0;
  const entries = Object.entries(weights) as [T, number][];
  for (const [k, w] of entries) if (u < (acc += w)) return k;
  return entries[entries.length - 1]![0];
}

function planRows(n: number, rand: () => number, withSplit: boolean): Plan[] {
  const plans: Plan[] = [];
  let patient = 0;
  let origin = 0;
  while (plans.length < n) {
    origin++;
    const originSplit = rand() < 0.7 ? "train" : rand() < 0.5 ? "valid" : "test";
    const patients = 1 + Math.floor(rand() * 3);
    for (let p = 0; p < patients && plans.length < n; p++) {
      patient++;
      // The first twelve patients cover every (modality, diagnosis) pair, so even tiny datasets have every class.
      const modality: Modality = patient <= 12 ? (patient % 2 === 1 ? "ct" : "radiograph") : rand() < 0.5 ? "ct" : "radiograph";
      const diagnosis = patient <= 12 ? DIAGNOSES[Math.floor((patient - 1) / 2)]! : pick(DIAGNOSIS_WEIGHTS[modality], rand());
      const images = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < images && plans.length < n; k++) {
        const i = plans.length;
        const section: Section = modality === "ct" ? (rand() < 0.75 ? "axial" : "coronal") : rand() < 0.9 ? "coronal" : "sagittal";
        const u = rand();
        const format = u < 0.6 ? "png" : u < 0.9 ? "jpg" : "gif";
        plans.push({
          patientId: `P${String(patient).padStart(4, "0")}`,
          origin: `https://example.org/source/${origin}`,
          modality,
          diagnosis,
          section,
          fileName: `images/img${String(i).padStart(5, "0")}.${format}`,
          format,
          grey: rand() < 0.5,
          lung: modality === "ct" ? (rand() < 0.8 ? "full" : rand() < 0.7 ? "partial" : "none") : "full",
          suitable: rand() < 0.95,
          marks: rand() < 0.1,
          split: withSplit ? originSplit : "",
        });
      }
    }
  }
  return plans;
}

/** Renders a grey-level field in [0,1] (row-major h × w). */
function render(p: Plan, w: number, h: number, r: () => number): Float32Array {
  const img = new Float32Array(w * h);
  const lungs: [number, number, number, number][] =
    p.section === "sagittal" ? [[0.5, 0.5, 0.28, 0.32]] : [[0.32, 0.5, 0.15, 0.3], [0.68, 0.5, 0.15, 0.3]];
  /** Normalised elliptical radius of (u, v) in the nearest lung: < 1 inside, 0 at its centre. */
  const lungRadius = (u: number, v: number) => Math.sqrt(Math.min(...lungs.map(([cx, cy, rx, ry]) => ((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2)));
  // Strength of the diagnosis pattern: usually clear, sometimes faint, so that classes overlap.
  const a = r() < 0.05 ? 0.1 * r() : 0.45 + 0.55 * r();
  const blobs: [number, number, number, number][] = []; // cx, cy, sigma, amplitude (negative sigma = ring)
  const lungPoint = (periphery: boolean) => {
    const [cx, cy, rx, ry] = lungs[Math.floor(r() * lungs.length)]!;
    const t = r() * Math.PI * 2;
    const rad = periphery ? 0.7 + 0.25 * r() : Math.sqrt(r()) * 0.8;
    return [cx + Math.cos(t) * rx * rad, cy + Math.sin(t) * ry * rad] as const;
  };
  // COVID-19: bilateral, peripheral ground-glass: many soft blobs near the lung borders plus a brighter rim.
  if (p.diagnosis === "covid19") for (let k = 0; k < 6 + r() * 5; k++) blobs.push([...lungPoint(true), 0.07, 0.5 * a]);
  if (p.diagnosis === "bacterial") {
    const [cx, cy, rx, ry] = lungs[Math.floor(r() * lungs.length)]!;
    blobs.push([cx + (r() - 0.5) * rx, cy + ry * 0.4, 0.11, 0.5 * a]);
  }
  if (p.diagnosis === "fungal") for (let k = 0; k < 2 + r() * 3; k++) blobs.push([...lungPoint(false), -0.035, 0.55 * a]);
  const stripeFreq = 10 + r() * 4;
  const gain = 0.85 + 0.3 * r();
  const offset = (r() - 0.5) * 0.1;
  for (let y = 0; y < h; y++) {
    const v = (y + 0.5) / h;
    for (let x = 0; x < w; x++) {
      const u = (x + 0.5) / w;
      let val: number;
      if (p.modality === "ct") val = (u - 0.5) ** 2 + (v - 0.5) ** 2 < 0.2 ? 0.55 : 0.02;
      else val = Math.abs(u - 0.5) < 0.04 ? 0.8 : 0.6 - 0.3 * Math.abs(u - 0.5);
      const lungDepth = lungRadius(u, v);
      if (lungDepth < 1) {
        val = p.modality === "ct" ? 0.12 : 0.22;
        if (p.diagnosis === "covid19") val += 0.3 * a * lungDepth * lungDepth;
        if (p.diagnosis === "viral") val += 0.12 * a * (Math.sin(v * Math.PI * 2 * stripeFreq) + 1);
        if (p.diagnosis === "ards") val += 0.3 * a;
        for (const [bx, by, s, amp] of blobs) {
          const d2 = (u - bx) ** 2 + (v - by) ** 2;
          val += s > 0 ? amp * Math.exp(-d2 / (2 * s * s)) : amp * Math.exp(-((Math.sqrt(d2) + s) ** 2) / (2 * 0.012 ** 2));
        }
      }
      img[y * w + x] = val * gain + offset + gaussian(r) * 0.05;
    }
  }
  return img;
}

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

async function encode(field: Float32Array, w: number, h: number, p: Plan, outW: number, outH: number): Promise<Buffer> {
  const channels = p.grey ? 1 : 3;
  const raw = Buffer.alloc(w * h * channels);
  // Colour images get a fixed faint tint per channel so they are genuinely three-channel.
  const tint = [1, 0.97, 0.93];
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < channels; c++) raw[i * channels + c] = Math.max(0, Math.min(255, Math.round(field[i]! * 255 * tint[c]!)));
  }
  let img = sharp(raw, { raw: { width: w, height: h, channels } });
  if (outW !== w || outH !== h) img = sharp(await img.resize(outW, outH, { fit: "fill" }).raw().toBuffer(), { raw: { width: outW, height: outH, channels } });
  if (p.format === "png") return img.png().toBuffer();
  if (p.format === "jpg") return img.jpeg({ quality: 90 }).toBuffer();
  return img.gif().toBuffer();
}


