/** Problem codes are stable: the API and CLI show them, and teams script against them. */
export type ProblemCode =
  | "manifest_missing"
  | "manifest_empty"
  | "missing_column"
  | "duplicate_column"
  | "manifest_too_large"
  | "invalid_value"
  | "unsafe_path"
  | "duplicate_file_name"
  | "missing_file"
  | "undecodable_image"
  | "wrong_extension"
  | "duplicate_content_patients"
  | "duplicate_content_splits"
  | "patient_leakage";

/**
 * One thing wrong with a dataset. `row` is the spreadsheet row (header = 1; null for whole-dataset problems),
 * `column` the manifest column, `value` what was found, `expected` what would have been accepted.
 */
export interface Problem {
  code: ProblemCode;
  row: number | null;
  column: string | null;
  value: string | null;
  expected: string;
  message: string;
}

export function problem(p: Omit<Problem, "message"> & { message?: string }): Problem {
  const where = [p.row !== null ? `row ${p.row}` : null, p.column ? `column ${p.column}` : null].filter(Boolean).join(", ");
  const found = p.value !== null ? `${JSON.stringify(p.value)}: ` : "";
  return { ...p, message: p.message ?? `${where ? `${where}: ` : ""}${found}expected ${p.expected}` };
}

/** Every code this package's errors carry (the API maps each to a status; the compiler checks that map). */
export type DataErrorCode = "DATASET_INVALID" | "SCENARIO_INVALID" | "SPLIT_LEAKAGE" | "ARCHIVE_INVALID" | "CACHE_INVALID";

/** Base of every error this package throws; `code` is stable. */
export class DataError extends Error {
  readonly code: DataErrorCode;
  constructor(code: DataErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Lists of problems shown to a team (errors, excluded rows) hold at most this many, with a count of the rest. */
export const MAX_LISTED = 100;

/**
 * The dataset was rejected whole. `.problems` lists the first MAX_LISTED problems found, `.problemCount` counts
 * them all (a manifest of 50,000 bad rows answers with a bounded body).
 */
export class DatasetInvalidError extends DataError {
  readonly problems: Problem[];
  readonly problemCount: number;
  constructor(problems: Problem[], message?: string) {
    const head = problems.slice(0, 5).map((p) => `  - ${p.message}`).join("\n");
    const more = problems.length > 5 ? `\n  … and ${problems.length - 5} more` : "";
    super("DATASET_INVALID", message ?? `dataset rejected: ${problems.length} problem(s)\n${head}${more}`);
    this.problems = problems.slice(0, MAX_LISTED);
    this.problemCount = problems.length;
  }

  /**
   * The problems as `{ path, message }` issues (the API's error shape): path "row 7.diagnosis", "manifest";
   * past MAX_LISTED, one last issue (path "manifest") counts the problems not listed.
   */
  get issues(): { path: string; message: string }[] {
    const listed = this.problems.map((p) => ({
      path: p.row === null ? (p.column ?? "manifest") : `row ${p.row}${p.column ? `.${p.column}` : ""}`,
      message: `${p.code}: ${p.value !== null ? `${JSON.stringify(p.value)}: ` : ""}expected ${p.expected}`,
    }));
    const rest = this.problemCount - listed.length;
    return rest > 0 ? [...listed, { path: "manifest", message: `${rest} more problem(s) not listed (the first ${listed.length} are above)` }] : listed;
  }
}

/** A scenario cannot be built from these rows (no images, a class missing from training, bad options). */
export class ScenarioError extends DataError {
  constructor(message: string) {
    super("SCENARIO_INVALID", message);
  }
}

/** A split given by the caller or the manifest puts one patient in two subsets. */
export class SplitLeakageError extends DataError {
  readonly patients: string[];
  constructor(patients: string[], message: string) {
    super("SPLIT_LEAKAGE", message);
    this.patients = patients;
  }
}

/** The archive could not be read or holds entries outside its root. */
export class ArchiveError extends DataError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ARCHIVE_INVALID", message, options);
  }
}

/** The preprocessing cache is unusable (corrupt index, a version directory without manifest). */
export class CacheError extends DataError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("CACHE_INVALID", message, options);
  }
}
