/* nn_text.c — capped Levenshtein distance (one row, early exit once a row exceeds the cap) and
 * JSON pointer keys. */
#include "nn_text.h"

#include <string.h>

int nn_edit_distance(const char *a, const char *b, int cap) {
    size_t na = strlen(a), nb = strlen(b);
    if (na > NN_TEXT_MAX_COMPARE || nb > NN_TEXT_MAX_COMPARE) return cap + 1;
    int row[NN_TEXT_MAX_COMPARE + 1];
    for (size_t j = 0; j <= nb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int diag = row[0], best = (int)i;
        row[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int up = row[j];
            int v = diag + (a[i - 1] != b[j - 1]);
            if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
            if (up + 1 < v) v = up + 1;
            row[j] = v;
            diag = up;
            if (v < best) best = v;
        }
        if (best > cap) return cap + 1;
    }
    return row[nb];
}

long nn_closest(const char *name, const void *items, size_t n, nn_name_at_fn name_at) {
    long best = -1;
    int best_d = 3;
    for (size_t i = 0; i < n; i++) {
        int d = nn_edit_distance(name, name_at(items, i), 2);
        if (d < best_d) {
            best_d = d;
            best = (long)i;
        }
    }
    return best;
}

void nn_json_ptr_key(char *out, size_t cap, const char *base, const char *key) {
    size_t n = strnlen(base, cap - 1);
    memcpy(out, base, n);
    if (n < cap - 1) out[n++] = '/';
    for (const char *k = key; *k && n < cap - 1; k++) {
        if (*k == '~' || *k == '/') {
            if (n + 2 > cap - 1) break;
            out[n++] = '~';
            out[n++] = *k == '~' ? '0' : '1';
        } else {
            out[n++] = *k;
        }
    }
    out[n] = '\0';
}
