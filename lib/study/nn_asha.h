/* nn_asha.h — asynchronous successive halving (Li et al., 2020) on epochs, decided in trial
 * order.
 *
 * DESIGN: a trial's rungs are the epochs min_epochs · η^r below its full epoch count, then the
 * full count: with 60 epochs, min_epochs 10 and η = 3, rungs at 10, 30 and 60 — prefixes of the
 * one full run (its schedule is over the full count), so promotion continues training where the
 * rung paused it. At each rung but the last, trial i is promoted when its value (the mean over
 * its folds of the objective at the rung's epoch) is at least as good as the ⌊n/η⌋-th best of
 * the n values of trials 0 … i at that rung (the best while n < 2η; the first trial always
 * goes on), otherwise pruned — Optuna's asynchronous rule, with "every trial that reported
 * before" replaced by "every trial numbered before", so the decision is the same whatever order
 * the workers finish in. A trial is never revisited once decided.
 */
#ifndef NN_ASHA_H
#define NN_ASHA_H

#include <stddef.h>

/* Writes the rung epochs of a trial of `epochs` epochs into out (at most max) and returns their
 * count; min_epochs ≤ 0 (no pruning) gives the one rung `epochs`. */
int nn_asha_rungs(int epochs, int min_epochs, int eta, int *out, int max);

/* Whether the last of values[0 … n) — trial i's value at a rung after those of the trials
 * numbered before it at the same rung — is promoted. NaN values are never promoted and rank
 * last. */
int nn_asha_promote(const double *values, size_t n, int eta, int maximize);

#endif
