/**
 * ROC and precision–recall curves (scikit-learn's `roc_curve` and `precision_recall_curve`, without dropping
 * intermediate points): one point per distinct score, from the highest threshold down. A sample is predicted
 * positive when its score is >= the threshold. The first point has threshold null: nothing predicted positive.
 * The trapezoidal area under the ROC points equals rocAuc; averagePrecision is sklearn's (Σ ΔR·P).
 */
import { MetricInputError } from "./errors.ts";
import { column } from "./inputs.ts";
import { scoreSplit, type ScoringContext, type SplitScores } from "./score.ts";

export interface RocPoint { threshold: number | null; fpr: number; tpr: number }
export interface PrPoint { threshold: number | null; precision: number; recall: number }
export interface BinaryCurves {
  roc: RocPoint[];
  pr: PrPoint[];
  /** Area under `roc` (trapezoidal). */
  auc: number;
  averagePrecision: number;
  positives: number;
  negatives: number;
}

/** Curves of a 0/1 mask (1 = positive) against scores. Throws MetricInputError single_class without both classes. */
export function binaryCurves(isPositive: ArrayLike<number>, score: ArrayLike<number>): BinaryCurves {
  const n = isPositive.length;
  if (score.length !== n) throw new MetricInputError("length_mismatch", `score has ${score.length} values for ${n} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (score[b] as number) - (score[a] as number));
  let P = 0;
  for (let i = 0; i < n; i++) P += isPositive[i] ? 1 : 0;
  const N = n - P;
  if (P === 0 || N === 0) throw new MetricInputError("single_class", "curves need both positives and negatives");
  const roc: RocPoint[] = [{ threshold: null, fpr: 0, tpr: 0 }];
  const pr: PrPoint[] = [{ threshold: null, precision: 1, recall: 0 }];
  let tp = 0;
  let fp = 0;
  let auc = 0;
  let ap = 0;
  for (let j = 0; j < n; ) {
    const t = score[order[j]!] as number;
    while (j < n && score[order[j]!] === t) {
      if (isPositive[order[j]!]) tp++;
      else fp++;
      j++;
    }
    const prev = roc[roc.length - 1]!;
    const point = { threshold: t, fpr: fp / N, tpr: tp / P };
    auc += ((point.fpr - prev.fpr) * (point.tpr + prev.tpr)) / 2;
    const precision = tp / (tp + fp);
    ap += (tp / P - pr[pr.length - 1]!.recall) * precision;
    roc.push(point);
    pr.push({ threshold: t, precision, recall: tp / P });
  }
  return { roc, pr, auc, averagePrecision: ap, positives: P, negatives: N };
}

export interface ClassCurves extends BinaryCurves {
  /** The class these curves score (one-vs-rest for multiclass; the positive class for binary). */
  class: string;
}

export interface SplitCurves {
  /** Binary: the positive class only. Multiclass: every class one-vs-rest, in class order. */
  classes: (ClassCurves | { class: string; undefined: string })[];
  /** Rows: true class, columns: predicted class, in class order (as scoreSplit counts it). */
  confusionMatrix: number[][];
}

/** ROC and PR curves of a split's predictions (per class one-vs-rest for multiclass) and its confusion matrix. */
export function splitCurves(pred: SplitScores, ctx: ScoringContext): SplitCurves {
  const k = ctx.classes.length;
  const flat = Float64Array.from(pred.probs);
  const targets = ctx.task === "binary" ? [ctx.classes.indexOf(ctx.positiveClass)] : ctx.classes.map((_, c) => c);
  const classes = targets.map((c) => {
    const mask = Uint8Array.from(pred.labels, (y) => (y === c ? 1 : 0));
    try {
      return { class: ctx.classes[c]!, ...binaryCurves(mask, column(flat, k, c)) };
    } catch (e) {
      if (e instanceof MetricInputError && e.reason === "single_class") return { class: ctx.classes[c]!, undefined: `no ${mask.includes(1) ? "other" : ctx.classes[c]} images in the split` };
      throw e;
    }
  });
  return { classes, confusionMatrix: scoreSplit(pred, ctx).confusion };
}
