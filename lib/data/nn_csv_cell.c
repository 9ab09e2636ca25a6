/* nn_csv_cell.c — what one CSV field is: missing, a number, out of range, or text (nn_csv.h
 * gives the rules), and whether it is valid UTF-8. The reader calls these once per field, the
 * writer to decide which text needs quotes. */
#include "nn_csv_internal.h"
#include "nn_number.h"

#include <math.h>
#include <string.h>

#define MAX_TOKEN 4 /* the longest missing token, "null" */

static const char *const missing_tokens[] = {"NA", "N/A", "NaN", "nan", "null", "NULL"};

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static int is_missing_token(const char *s, size_t n) {
    if (s[0] != 'N' && s[0] != 'n') return 0; /* every token starts so: most fields stop here */
    for (size_t i = 0; i < sizeof missing_tokens / sizeof *missing_tokens; i++)
        if (strlen(missing_tokens[i]) == n && memcmp(s, missing_tokens[i], n) == 0) return 1;
    return 0;
}

static int equals_nocase(const char *s, size_t n, const char *lower) {
    size_t m = strlen(lower);
    if (n != m) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != lower[i]) return 0;
    }
    return 1;
}

nn__cell_kind nn__csv_classify(const char *s, size_t len, double *value) {
    if (len == 0) return NN__CELL_MISSING;
    if (len <= MAX_TOKEN && is_missing_token(s, len)) return NN__CELL_MISSING;
    size_t a = 0, b = len;
    while (a < b && is_blank(s[a])) a++;
    while (b > a && is_blank(s[b - 1])) b--;
    if (a == b) return NN__CELL_MISSING;
    const char *t = s + a;
    size_t n = b - a;
    size_t sign = t[0] == '+' || t[0] == '-';
    if (sign < n && (t[sign] == 'i' || t[sign] == 'I'))
        return equals_nocase(t + sign, n - sign, "inf") ||
                       equals_nocase(t + sign, n - sign, "infinity")
                   ? NN__CELL_RANGE
                   : NN__CELL_TEXT;
    if (n - sign > 1 && t[sign] == '0') { /* 02134: an identifier, its zeros kept */
        size_t i = sign + 1;
        while (i < n && t[i] >= '0' && t[i] <= '9') i++;
        if (i == n) return NN__CELL_TEXT;
    }
    double v;
    if (!nn_number_parse(t, n, &v)) return NN__CELL_TEXT; /* also hex, nan(…): not decimal */
    if (!isfinite(v)) return NN__CELL_RANGE;              /* overflow; underflow is fine */
    if (value) *value = v;
    return NN__CELL_NUMBER;
}

int nn__utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == 0) return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            k = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else
            return 0;
        if (n - i <= k) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t j = 2; j <= k; j++)
            if (s[i + j] < 0x80 || s[i + j] > 0xBF) return 0;
        i += k + 1;
    }
    return 1;
}
