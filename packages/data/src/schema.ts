/**
 * The manifest vocabulary: the paper's Table 3 attributes, as canonical tokens. Import maps the spellings teams
 * actually use ("COVID-19", "healthy chest", "X-ray", "yes") onto these tokens; everything downstream (splits,
 * scenarios, the cache) sees only canonical values.
 */
export const MODALITIES = ["ct", "radiograph"] as const;
export type Modality = (typeof MODALITIES)[number];

export const SECTIONS = ["axial", "coronal", "sagittal"] as const;
export type Section = (typeof SECTIONS)[number];

/** Canonical label order for multiclass scenarios. */
export const DIAGNOSES = ["healthy", "covid19", "bacterial", "viral", "fungal", "ards"] as const;
export type Diagnosis = (typeof DIAGNOSES)[number];

export const SPLITS = ["train", "valid", "test"] as const;
export type Split = (typeof SPLITS)[number];

export const LUNG_PRESENCE = ["full", "partial", "none"] as const;
export type LungPresence = (typeof LUNG_PRESENCE)[number];

/** Image formats accepted, by file extension (lower case, no dot) → the format sharp reports. */
export const IMAGE_EXTENSIONS: Readonly<Record<string, string>> = { png: "png", jpg: "jpeg", jpeg: "jpeg", gif: "gif" };

/** One validated manifest row. `row` is the spreadsheet row number (the header is row 1). */
export interface ManifestRow {
  row: number;
  patientId: string;
  /** Relative POSIX path inside the dataset (normalised: no "./", no "..", no leading "/"). */
  fileName: string;
  modality: Modality;
  section: Section;
  diagnosis: Diagnosis;
  marks: boolean;
  /** The split given by the manifest, or (after import) the final split. null = to be computed. */
  split: Split | null;
  lungPresence: LungPresence;
  origin: string;
  suitable: boolean;
  /** Columns beyond the standard ones, kept verbatim (header lower-cased). */
  meta: Record<string, string>;
  /** sha256 of the image bytes (filled in by import). */
  sha256?: string;
}

/** A row of an imported version: split and hash are always known. */
export interface VersionRow extends ManifestRow {
  split: Split;
  sha256: string;
}

/** The normalised manifest.json stored in every version directory (what the trainer reads). */
export interface VersionManifest {
  format: 1;
  contentHash: string;
  /** Rows sorted by fileName; images live at `images/<fileName>` inside the version directory. */
  rows: VersionRow[];
  split: { source: "manifest" | "computed" | "mixed"; seed: number; ratios: [number, number, number] };
}
