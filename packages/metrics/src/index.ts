/**
 * @hypersweep/metrics: scikit-learn's classification metrics, exact and fast, with no I/O (paper, section 3.3).
 * Conventions: labels are class indices (binary: 1 = positive); score matrices are n × k (rows, or flat
 * row-major); confusion matrices have true labels in rows and predictions in columns; every input error is a
 * MetricInputError (code METRIC_INPUT) naming the argument and row.
 */
export { MetricInputError, METRIC_INPUT, type MetricErrorCode, type MetricInputReason } from "./errors.ts";
export { rocAuc, oneVsRestAuc, type OneVsRestAuc } from "./auc.ts";
export { confusionMatrix, classScores, accuracyOf, macroF1Of, type ClassScores } from "./confusion.ts";
export {
  binaryMetrics,
  multiclassMetrics,
  binariseLabels,
  positiveScores,
  type BinaryMetrics,
  type BinaryMetricsOptions,
  type MulticlassMetrics,
} from "./classification.ts";
export { bootstrapAuc, bootstrapCi, bootstrapCis, type BootstrapCi, type BootstrapMetric, type NumericKeys, type BootstrapOptions } from "./bootstrap.ts";
export type { ScoreMatrix } from "./inputs.ts";
export {
  scoreSplit,
  scoreTest,
  crossEntropy,
  toSplitScores,
  float32Json,
  argmaxOfRows,
  type SplitScores,
  type ScoringContext,
  type SplitEvaluation,
  type MetricValues,
  type TestIntervals,
  type TestReport,
} from "./score.ts";
export { binaryCurves, splitCurves, type BinaryCurves, type ClassCurves, type SplitCurves, type RocPoint, type PrPoint } from "./curves.ts";
export { readAsBinary, readAsBinaryReport, type BinaryReading, type BinaryReadingReport } from "./binarised.ts";
export { varianceExplained, hyperparameterImportance, MIN_TRIALS_FOR_IMPORTANCE, type Importance, type FactorImportance, type ScoredTrial } from "./importance.ts";
