/* test_study_ensemble.c — Caruana's greedy selection checked against a plain re-computation
 * and against brute force over every multiset on small cases; the holdout rows. */
#include "check.h"
#include "nn_study.h"

#include <stdlib.h>

static double mse_of(const double *const *pred, size_t m, const int *counts, const double *y,
                     size_t n) {
    double se = 0;
    int total = 0;
    for (size_t j = 0; j < m; j++) total += counts[j];
    for (size_t i = 0; i < n; i++) {
        double p = 0;
        for (size_t j = 0; j < m; j++) p += counts[j] * pred[j][i];
        se += (p / total - y[i]) * (p / total - y[i]);
    }
    return se / (double)n;
}

/* The best multiset of `rounds` models by brute force (m ≤ 4): its mean squared error. */
static double brute_best(const double *const *pred, size_t m, const double *y, size_t n,
                         int rounds) {
    double best = INFINITY;
    int c[4] = {0, 0, 0, 0};
    for (c[0] = 0; c[0] <= rounds; c[0]++)
        for (c[1] = 0; c[1] <= rounds - c[0]; c[1]++)
            for (c[2] = 0; c[2] <= (m > 2 ? rounds - c[0] - c[1] : 0); c[2]++) {
                int rest = rounds - c[0] - c[1] - c[2];
                if (m < 4 && rest) continue;
                c[3] = m > 3 ? rest : 0;
                double v = mse_of(pred, m, c, y, n);
                if (v < best) best = v;
            }
    return best;
}

static void test_caruana_opposite_biases(void) {
    /* two models off by +1 and −1 everywhere, a third off by ±0.5: the third is the best
       single model, and greedy starts from it */
    enum { N = 6 };
    double y[N] = {1, 2, 3, 4, 5, 6}, a[N], b[N], c[N];
    for (int i = 0; i < N; i++) {
        a[i] = y[i] + 1;
        b[i] = y[i] - 1;
        c[i] = y[i] + (i % 2 ? 0.5 : -0.5);
    }
    const double *pred[3] = {a, b, c};
    int counts[3];
    double mse = -1;
    nn_error err;
    CHECK(nn_caruana_select(pred, 3, y, N, 1, counts, &mse, &err) == NN_OK);
    CHECK(counts[2] == 1 && counts[0] == 0 && counts[1] == 0); /* the best single model */
    CHECK_NEAR(mse, 0.25, 1e-12);
    CHECK(nn_caruana_select(pred, 3, y, N, 2, counts, &mse, &err) == NN_OK);
    /* (c + a)/2 − y = (±0.5 + 1)/2 is 0.75 or 0.25: mse 0.3125; c + b the same; c + c 0.25:
       greedy takes c twice */
    CHECK(counts[2] == 2);
    CHECK_NEAR(mse, 0.25, 1e-12);
    CHECK_NEAR(mse, mse_of(pred, 3, counts, y, N), 1e-12);
    CHECK(nn_caruana_select(pred, 3, y, N, 4, counts, &mse, &err) == NN_OK);
    CHECK(mse >= brute_best(pred, 3, y, N, 4) - 1e-12);
    CHECK(mse <= 0.25 + 1e-12); /* never worse than the best single model */
    /* the ensemble's prediction is the count-weighted mean */
    int w[3] = {1, 1, 0};
    CHECK_NEAR(nn_caruana_predict(pred, 3, w, 2), 3, 1e-12);
}

/* Random cases: greedy is re-computed plainly, is never worse than the best single model, and
 * on one round is exactly the brute-force best. */
static void test_caruana_random_cases(void) {
    unsigned lcg = 99;
    for (int rep = 0; rep < 50; rep++) {
        enum { N = 12, M = 4 };
        double y[N], p[M][N];
        for (int i = 0; i < N; i++) {
            lcg = lcg * 1103515245u + 12345u;
            y[i] = (double)((lcg >> 16) % 100) / 10;
            for (int j = 0; j < M; j++) {
                lcg = lcg * 1103515245u + 12345u;
                p[j][i] = y[i] + ((double)((lcg >> 16) % 100) / 25 - 2) + 0.3 * j;
            }
        }
        const double *pred[M] = {p[0], p[1], p[2], p[3]};
        int rounds = 1 + rep % 5, counts[M];
        double mse;
        nn_error err;
        CHECK(nn_caruana_select(pred, M, y, N, rounds, counts, &mse, &err) == NN_OK);
        CHECK(counts[0] + counts[1] + counts[2] + counts[3] == rounds);
        CHECK_NEAR(mse, mse_of(pred, M, counts, y, N), 1e-9);
        /* plain greedy */
        int g[M] = {0, 0, 0, 0};
        for (int r = 0; r < rounds; r++) {
            int pick = 0;
            double best = INFINITY;
            for (int j = 0; j < M; j++) {
                g[j]++;
                double v = mse_of(pred, M, g, y, N);
                g[j]--;
                if (v < best - 1e-15) {
                    best = v;
                    pick = j;
                }
            }
            g[pick]++;
        }
        for (int j = 0; j < M; j++) CHECK(g[j] == counts[j]);
        CHECK(mse >= brute_best(pred, M, y, N, rounds) - 1e-9);
        double single = brute_best(pred, M, y, N, 1);
        CHECK(mse <= single + 1e-9);
        if (rounds == 1) CHECK_NEAR(mse, single, 1e-12);
    }
}

static void test_caruana_skips_missing(void) {
    double y[4] = {1, NAN, 3, 4}, a[4] = {1, 2, NAN, 4}, b[4] = {2, 2, 2, 2};
    const double *pred[2] = {a, b};
    int counts[2];
    double mse;
    nn_error err;
    CHECK(nn_caruana_select(pred, 2, y, 4, 1, counts, &mse, &err) == NN_OK);
    CHECK(counts[0] == 1);
    CHECK_NEAR(mse, 0, 1e-15); /* rows 0 and 3 only */
    /* R² over the rows used (0 and 3: actual 1 and 4, mean 2.5, SST 4.5), the ensemble's from
       its mse and the first model's from its errors */
    double r2, r2_first;
    size_t used;
    nn_caruana_r2(pred, 2, y, 4, 0.5, &r2, &r2_first, &used);
    CHECK(used == 2);
    CHECK_NEAR(r2, 1 - 0.5 * 2 / 4.5, 1e-15);
    CHECK_NEAR(r2_first, 1, 1e-15);
    const double *pb[1] = {b};
    nn_caruana_r2(pb, 1, y, 4, 1, &r2, &r2_first, &used); /* b: 2 everywhere; rows 0, 2, 3 */
    CHECK(used == 3);
    /* actual 1, 3, 4 (mean 8/3, SST 14/3), squared errors 1 + 1 + 4 */
    CHECK_NEAR(r2_first, 1 - 6 / (14.0 / 3), 1e-12);
    double none[2] = {NAN, NAN}, y2[2] = {1, 2};
    const double *p2[1] = {none};
    CHECK(nn_caruana_select(p2, 1, y2, 2, 3, counts, &mse, &err) == NN_ERR_INVALID);
}

static void test_holdout_rows(void) {
    unsigned char m1[100], m2[100], m3[100];
    CHECK(nn_study_holdout_rows(1, 0.1, 100, m1) == 10);
    CHECK(nn_study_holdout_rows(1, 0.1, 100, m2) == 10);
    CHECK(nn_study_holdout_rows(2, 0.1, 100, m3) == 10);
    int n1 = 0, same12 = 1, same13 = 1;
    for (int i = 0; i < 100; i++) {
        n1 += m1[i];
        same12 &= m1[i] == m2[i];
        same13 &= m1[i] == m3[i];
    }
    CHECK(n1 == 10);
    CHECK(same12);
    CHECK(!same13);
    CHECK(nn_study_holdout_rows(1, 0, 100, m1) == 0);
    CHECK(nn_study_holdout_rows(1, 0.001, 100, m1) == 1);
    CHECK(nn_study_holdout_rows(1, 0.5, 3, m1) == 2);
    CHECK(nn_study_holdout_rows(1, 0.5, 1, m1) == 0);
}

int main(void) {
    RUN(test_caruana_opposite_biases);
    RUN(test_caruana_random_cases);
    RUN(test_caruana_skips_missing);
    RUN(test_holdout_rows);
    return check_summary();
}
