export * from "./schema.ts";
export * from "./errors.ts";
export { parseManifest, normaliseHeader, MANIFEST_COLUMNS, type ParsedManifest } from "./manifest.ts";
export { assignSplits, groupRows, findPatientLeakage, splitProportions, type SplitOptions, type SplitReport, type SplitResult } from "./split.ts";
export { resolveScenario, defaultFilters, BINARY_CLASSES, type ScenarioFilters, type ScenarioOptions, type ScenarioTask, type ResolvedScenario } from "./scenario.ts";
export { importDataset, hashVersion, type ImportOptions, type ImportProgress, type ImportResult } from "./import.ts";
export type { DatasetSummary } from "./summary.ts";
export { synthDataset, type SynthOptions, type SynthResult, type BrokenKind } from "./synth.ts";
