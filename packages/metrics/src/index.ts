/**
 * @hypersweep/metrics: pure classification metrics (no I/O). Section 3.3 of the Data Stock paper.
 * Conventions: labels are class indices; scores are N × C (flat row-major or rows); confusion matrices have true
 * labels in rows and predictions in columns; an undefined AUC is `null`, never NaN.
 */
export { MetricsError, METRICS_ERROR_CODES, type MetricsErrorCode } from "./errors.ts";
export { rocAuc, oneVsRestAuc, type OneVsRestAuc } from "./auc.ts";
export { confusionMatrix, classScores, accuracy, type ClassScores, type ConfusionMatrix } from "./confusion.ts";
export {
  evaluateClassifier,
  prepareEvaluation,
  binariseLabels,
  type Evaluation,
  type EvaluationInput,
  type EvaluationMetrics,
  type EvaluationTask,
  type PerClassEvaluation,
  type PreparedEvaluation,
} from "./evaluate.ts";
export {
  bootstrapIntervals,
  type BootstrapOptions,
  type BootstrapResult,
  type Interval,
  type MetricKey,
} from "./bootstrap.ts";
export type { Labels, ScoreMatrix } from "./inputs.ts";
