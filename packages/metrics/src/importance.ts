/**
 * How much of the variance of a score each hyperparameter explains, one at a time: a one-way ANOVA per factor
 * (trials grouped by the factor's level). For a factor with k levels over n scores with grand mean m:
 *   SS_total   = Σ (y − m)²,  SS_between = Σ_groups n_g (mean_g − m)²,  SS_within = SS_total − SS_between
 *   η²  = SS_between / SS_total                                   (the plain share of variance explained)
 *   ε²  = (SS_between − (k − 1) · SS_within / (n − k)) / SS_total (η² less what chance alone gives k groups)
 * η² grows with the number of levels even for a factor with no effect (its expectation is (k − 1)/(n − 1)), so a
 * 4-level learning rate would look more important than an on/off augmentation on noise alone; ε² corrects that
 * and is 0 or below for a factor that explains no more than chance. In a sampled plan (a few augmentation subsets
 * per learning rate) the factors are not independent, so shares can overlap and need not add up to 1.
 * Pure: no I/O, so the dashboard, the API and the report can all use it.
 */

export interface FactorImportance {
  factor: string;
  /** Distinct levels seen among the scored trials. */
  levels: number;
  /** SS_between / SS_total; null when the factor did not vary (one level) or too few trials per level. */
  etaSquared: number | null;
  /** Chance-corrected share (may be below 0); null as for etaSquared. */
  epsilonSquared: number | null;
  /** max(0, ε²): the share to show. */
  share: number | null;
  /** Why the shares are null. */
  note?: string;
}

export interface Importance {
  /** Scored trials the numbers rest on. */
  n: number;
  /** False when there are too few scored trials, or every one scored the same (then factors is empty). */
  enough: boolean;
  reason?: string;
  factors: FactorImportance[];
}

/** Below this many scored trials no share is given (a handful of points makes any factor look decisive). */
export const MIN_TRIALS_FOR_IMPORTANCE = 6;

/** Shares of variance of `scores` explained by each factor; `levels[f][i]` is trial i's level of factor f. */
export function varianceExplained(scores: readonly number[], factors: ReadonlyArray<{ factor: string; levels: ReadonlyArray<string | number | boolean> }>, minTrials = MIN_TRIALS_FOR_IMPORTANCE): Importance {
  const n = scores.length;
  if (n < minTrials) return { n, enough: false, reason: `${n} finished trial${n === 1 ? "" : "s"}; at least ${minTrials} are needed`, factors: [] };
  const mean = scores.reduce((a, b) => a + b, 0) / n;
  const ssTotal = scores.reduce((a, y) => a + (y - mean) ** 2, 0);
  if (!(ssTotal > 1e-15 * Math.max(1, mean * mean) * n)) return { n, enough: false, reason: `all ${n} finished trials scored the same`, factors: [] };
  return {
    n,
    enough: true,
    factors: factors.map(({ factor, levels }) => {
      if (levels.length !== n) throw new RangeError(`factor ${factor}: ${levels.length} levels for ${n} scores`);
      const groups = new Map<string | number | boolean, { sum: number; count: number }>();
      levels.forEach((l, i) => {
        const g = groups.get(l) ?? { sum: 0, count: 0 };
        g.sum += scores[i]!;
        g.count++;
        groups.set(l, g);
      });
      const k = groups.size;
      if (k < 2) return { factor, levels: k, etaSquared: null, epsilonSquared: null, share: null, note: "not varied" };
      if (n - k < 1) return { factor, levels: k, etaSquared: null, epsilonSquared: null, share: null, note: "too few trials per level" };
      let ssBetween = 0;
      for (const g of groups.values()) ssBetween += g.count * (g.sum / g.count - mean) ** 2;
      const ssWithin = Math.max(0, ssTotal - ssBetween);
      const eta = ssBetween / ssTotal;
      const eps = (ssBetween - ((k - 1) * ssWithin) / (n - k)) / ssTotal;
      return { factor, levels: k, etaSquared: eta, epsilonSquared: eps, share: Math.max(0, eps) };
    }),
  };
}

/** A trial of a sweep's search: its learning rate, its augmentation subset and its selection score. */
export interface ScoredTrial {
  learningRate: number;
  augmentations: readonly string[];
  score: number;
}

/** The importance of the learning rate and of each augmentation (on/off) for one architecture's search trials. */
export function hyperparameterImportance(trials: readonly ScoredTrial[], augmentations: readonly string[], minTrials = MIN_TRIALS_FOR_IMPORTANCE): Importance {
  return varianceExplained(
    trials.map((t) => t.score),
    [
      { factor: "learning rate", levels: trials.map((t) => t.learningRate) },
      ...augmentations.map((a) => ({ factor: a, levels: trials.map((t) => t.augmentations.includes(a)) })),
    ],
    minTrials,
  );
}
