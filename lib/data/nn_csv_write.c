/* nn_csv_write.c — tables to CSV (nn_csv.h gives the rules): numbers in the fewest digits that
 * read back exactly, text quoted when it would otherwise read differently. */
#include "nn_csv.h"
#include "nn_csv_internal.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *errno_text(int e, char *buf, size_t n) {
    if (strerror_r(e, buf, n) != 0) (void)snprintf(buf, n, "error %d", e);
    return buf;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static int put(FILE *f, const char *s, size_t n) {
    return n == 0 || fwrite(s, 1, n, f) == n ? 0 : -1;
}

static int needs_quotes(const char *s, size_t n) {
    if (strpbrk(s, ",\"\r\n")) return 1;
    if (is_blank(s[0]) || is_blank(s[n - 1])) return 1;
    return nn__csv_classify(s, n, NULL) !=
           NN__CELL_TEXT; /* would read back as a number or missing */
}

size_t nn_csv_format_field(const char *text, int quote_always, char *out, size_t size) {
    size_t n = text ? strlen(text) : 0, len = n;
    int quote = quote_always || n == 0 || needs_quotes(text, n);
    if (quote) {
        len = n + 2;
        for (size_t i = 0; i < n; i++) len += text[i] == '"';
    }
    if (size == 0) return len;
    size_t o = 0;
    if (quote && o + 1 < size) out[o++] = '"';
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        if (quote && text[i] == '"') {
            out[o++] = '"';
            if (o + 1 >= size) break;
        }
        out[o++] = text[i];
    }
    if (quote && o + 1 < size) out[o++] = '"';
    out[o] = '\0';
    return len;
}

/* Writes one text field; lone = the table has one column, where an empty line would vanish. */
static int write_text(FILE *f, const char *s, int lone) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0) return lone ? put(f, "\"\"", 2) : 0;
    if (!needs_quotes(s, n)) return put(f, s, n);
    return csv_fwrite(f, s, n) == 0 ? 0 : -1;
}

/* The shortest of %.15g, %.16g, %.17g that reads back as v exactly. */
static int write_number(FILE *f, double v, int lone) {
    if (isnan(v)) return lone ? put(f, "\"\"", 2) : 0;
    char buf[40];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return n > 0 ? put(f, buf, (size_t)n) : -1;
}

static nn_status write_io_error(nn_error *err) {
    char ebuf[128];
    return nn_error_set(err, NN_ERR_IO, "write error: %s", errno_text(errno, ebuf, sizeof ebuf));
}

nn_status nn_csv_write(FILE *f, const nn_table *t, nn_error *err) {
    if (t->n_cols == 0)
        return nn_error_set(err, NN_ERR_INVALID, "cannot write a table without columns as CSV");
    int lone = t->n_cols == 1;
    for (size_t j = 0; j < t->n_cols; j++) {
        const nn_column *c = &t->cols[j];
        if (c->type != NN_COL_NUMBER) continue;
        for (size_t i = 0; i < t->n_rows; i++)
            if (isinf(c->num[i]))
                return nn_error_set(err, NN_ERR_DOMAIN,
                                    "column \"%s\", row %zu: cannot write infinite value", c->name,
                                    i + 1);
    }
    for (size_t j = 0; j < t->n_cols; j++) {
        const char *name = t->cols[j].name;
        /* a first name that starts with U+FEFF would read back as a byte order mark: quoted,
           the reader keeps it */
        int bom = j == 0 && strncmp(name, "\xEF\xBB\xBF", 3) == 0;
        if ((j && put(f, ",", 1)) ||
            (bom ? csv_fwrite(f, name, strlen(name)) != 0 : write_text(f, name, 0) != 0))
            return write_io_error(err);
    }
    if (put(f, "\n", 1)) return write_io_error(err);
    for (size_t i = 0; i < t->n_rows; i++) {
        for (size_t j = 0; j < t->n_cols; j++) {
            const nn_column *c = &t->cols[j];
            if (j && put(f, ",", 1)) return write_io_error(err);
            int rc = c->type == NN_COL_NUMBER ? write_number(f, c->num[i], lone)
                                              : write_text(f, c->text[i], lone);
            if (rc) return write_io_error(err);
        }
        if (put(f, "\n", 1)) return write_io_error(err);
    }
    if (fflush(f) != 0) return write_io_error(err);
    return NN_OK;
}

nn_status nn_csv_write_file(const char *path, const nn_table *t, nn_error *err) {
    char ebuf[128];
    FILE *f = fopen(path, "wb");
    if (!f)
        return nn_error_set(err, NN_ERR_IO, "cannot open %s: %s", path,
                            errno_text(errno, ebuf, sizeof ebuf));
    nn_status st = nn_csv_write(f, t, err);
    if (st != NN_OK) nn_error_prefix(err, "%s: ", path);
    if (fclose(f) != 0 && st == NN_OK)
        st = nn_error_set(err, NN_ERR_IO, "%s: write error: %s", path,
                          errno_text(errno, ebuf, sizeof ebuf));
    if (st != NN_OK) (void)remove(path);
    return st;
}
