/* nn_csv.c — CSV to table and back, on top of libcsv.
 *
 * DESIGN
 *
 * Streaming. Input reaches libcsv's csv_parse in pieces of at most NN_CSV_CHUNK bytes that never
 * cross a line feed: feed() cuts each chunk after every '\n'. libcsv calls on_field at the end
 * of each field and on_row at the end of each row. Cutting at line feeds is what gives errors
 * their line numbers without a second parser: before each piece that starts a physical line we
 * know the line number, and a row starts on that line exactly when the line does not begin
 * inside a quoted field. Whether it does is the parity of the quote characters seen so far:
 * strict mode (CSV_STRICT) rejects a quote anywhere but at the start of a field, at its end, or
 * doubled inside it, so in accepted input an odd count means "inside quotes". libcsv buffers a
 * field until its end; its buffer grows in NN_CSV_CHUNK blocks, so checking the buffer size
 * after each piece bounds a runaway field to max_field plus two blocks before we stop.
 *
 * Storage. Each field is appended, NUL-terminated, to its column's arena (one growable byte
 * buffer per column; an empty field, i.e. a missing value, is a lone NUL). The input is never
 * held whole, only as these arenas, which are about as large as the data itself. At the end each
 * column is converted once — to doubles, or to the table's malloc'd strings — and its arena is
 * freed before the next column is converted, so the peak is the arenas plus one column.
 *
 * Inference. A column starts as "number" and turns "text" for good at the first field that
 * classify() calls text; fields it calls missing (empty, NA tokens, blanks) do not count. An
 * out-of-range number (1e999, inf) is remembered with its line, the first one per column, and
 * becomes an error only if the column is still numeric at the end — in a text column it is just
 * text. Conversion re-runs classify() on each stored field, so the rule lives in one place; the
 * writer uses the same function to decide which text must be quoted.
 */
#include "nn_csv.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_NAME "<input>"
#define BAD_VALUE_MAX 48 /* bytes of an out-of-range value kept for its message */

/* ---- classification of one field ------------------------------------------------------------- */

typedef enum cell_kind { CELL_MISSING, CELL_NUMBER, CELL_RANGE, CELL_TEXT } cell_kind;

static const char *const missing_tokens[] = {"NA", "N/A", "NaN", "nan", "null", "NULL"};

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static int is_number_char(char c) {
    return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E';
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

/* s[0..len) with s[len] == '\0' and no NUL inside. Writes the value through *value for
 * CELL_NUMBER. Missing: empty, blank, or an NA token (these only count as missing in a column
 * that is otherwise numeric). Range: reads as a number but is not finite. */
static cell_kind classify(const char *s, size_t len, double *value) {
    if (len == 0) return CELL_MISSING;
    for (size_t i = 0; i < sizeof missing_tokens / sizeof *missing_tokens; i++)
        if (strlen(missing_tokens[i]) == len && memcmp(s, missing_tokens[i], len) == 0)
            return CELL_MISSING;
    size_t a = 0, b = len;
    while (a < b && is_blank(s[a])) a++;
    while (b > a && is_blank(s[b - 1])) b--;
    if (a == b) return CELL_MISSING;
    const char *t = s + a;
    size_t n = b - a;
    size_t sign = t[0] == '+' || t[0] == '-';
    if (equals_nocase(t + sign, n - sign, "inf") || equals_nocase(t + sign, n - sign, "infinity"))
        return CELL_RANGE;
    size_t digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_number_char(t[i])) return CELL_TEXT; /* also rules out strtod's hex and nan(…) */
        digits += t[i] >= '0' && t[i] <= '9';
    }
    if (t[sign] == '0' && digits == n - sign && digits > 1) return CELL_TEXT; /* 02134 */
    if (digits == n - sign && digits > 0 && digits <= 15) {
        /* a plain integer below 10^15 < 2^53: exact in a double, so this is strtod's value
           (and -0 stays -0.0) at a fraction of its cost; most fields of most files */
        double v = 0;
        for (size_t i = sign; i < n; i++) v = v * 10 + (t[i] - '0');
        if (value) *value = t[0] == '-' ? -v : v;
        return CELL_NUMBER;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(t, &end);
    if (end != t + n) return CELL_TEXT;
    if (!isfinite(v)) return CELL_RANGE; /* overflow: ERANGE with ±HUGE_VAL; underflow is fine */
    if (value) *value = v;
    return CELL_NUMBER;
}

/* 1 if s[0..n) is well-formed UTF-8 without NUL bytes (no overlongs, surrogates, > U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t n) {
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

/* ---- reader state ---------------------------------------------------------------------------- */

/* A growable byte buffer; grows by doubling, bounded by the input it holds (max_rows rows of at
 * most max_field bytes). */
typedef struct arena {
    char *buf;
    size_t len, cap;
} arena;

typedef struct col_acc {
    arena cells;     /* the column's fields in row order, each NUL-terminated; "" = missing */
    int text;        /* forced by text_columns, or a field was text */
    size_t bad_line; /* line of the first out-of-range number, 0 = none */
    char bad_value[BAD_VALUE_MAX];
} col_acc;

typedef struct reader {
    const char *name; /* borrowed, for messages */
    size_t max_field, max_fields, max_rows;
    const char *const *text_columns;
    struct csv_parser parser;

    size_t line;       /* physical line of the bytes being fed, 1-based */
    size_t row_line;   /* line on which the current row started */
    size_t quote_line; /* line of the last opening quote */
    int in_quotes;     /* odd number of quotes so far: inside a quoted field */
    int at_line_start;
    int at_start; /* nothing fed yet: a BOM may follow */

    int have_header;
    char **names; /* (n_names) owned column names from the header */
    size_t n_names, cap_names;

    col_acc *cols; /* (n_names) once the header is complete */
    size_t field;  /* index of the current field in the current row */
    size_t n_rows; /* complete data rows */

    nn_status status; /* first error wins */
    nn_error *err;
} reader;

static void fail(reader *r, nn_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(reader *r, nn_status code, const char *fmt, ...) {
    if (r->status != NN_OK) return;
    char msg[sizeof r->err->msg];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->status = nn_error_set(r->err, code, "%s", msg);
}

static void fail_nomem(reader *r) { fail(r, NN_ERR_NOMEM, "%s: out of memory", r->name); }

static int arena_push(arena *a, const char *s, size_t n) {
    if (a->cap - a->len < n + 1) {
        size_t cap = a->cap ? a->cap : 64;
        while (cap - a->len < n + 1) {
            if (cap > SIZE_MAX / 2) return -1;
            cap *= 2;
        }
        char *buf = realloc(a->buf, cap);
        if (!buf) return -1;
        a->buf = buf;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, s, n);
    a->buf[a->len + n] = '\0';
    a->len += n + 1;
    return 0;
}

static void header_field(reader *r, const char *s, size_t len) {
    size_t f = r->n_names + 1; /* 1-based, for messages */
    if (r->n_names >= r->max_fields) {
        fail(r, NN_ERR_LIMIT, "%s:%zu: more than %zu fields", r->name, r->row_line, r->max_fields);
        return;
    }
    if (len == 0) {
        fail(r, NN_ERR_PARSE, "%s:%zu: empty column name in field %zu", r->name, r->row_line, f);
        return;
    }
    if (len >= NN_MAX_NAME) {
        fail(r, NN_ERR_LIMIT, "%s:%zu: column name in field %zu exceeds %d bytes", r->name,
             r->row_line, f, NN_MAX_NAME - 1);
        return;
    }
    for (size_t i = 0; i < r->n_names; i++) {
        if (strcmp(r->names[i], s) == 0) {
            fail(r, NN_ERR_PARSE, "%s:%zu: duplicate column name \"%s\"", r->name, r->row_line, s);
            return;
        }
    }
    if (r->n_names == r->cap_names) {
        size_t cap = r->cap_names ? r->cap_names * 2 : 16;
        char **names = realloc(r->names, cap * sizeof *names);
        if (!names) {
            fail_nomem(r);
            return;
        }
        r->names = names;
        r->cap_names = cap;
    }
    char *name = malloc(len + 1);
    if (!name) {
        fail_nomem(r);
        return;
    }
    memcpy(name, s, len + 1);
    r->names[r->n_names++] = name;
}

static void finish_header(reader *r) {
    r->cols = calloc(r->n_names, sizeof *r->cols);
    if (!r->cols) {
        fail_nomem(r);
        return;
    }
    for (const char *const *tc = r->text_columns; tc && *tc; tc++) {
        size_t i = 0;
        while (i < r->n_names && strcmp(r->names[i], *tc) != 0) i++;
        if (i == r->n_names) {
            fail(r, NN_ERR_INVALID, "%s: text column \"%s\" is not in the header", r->name, *tc);
            return;
        }
        r->cols[i].text = 1;
    }
    r->have_header = 1;
}

static void store_field(reader *r, col_acc *c, const char *s, size_t len) {
    if (!c->text) {
        cell_kind k = classify(s, len, NULL);
        if (k == CELL_TEXT) c->text = 1;
        if (k == CELL_RANGE && !c->bad_line) {
            c->bad_line = r->row_line;
            (void)snprintf(c->bad_value, sizeof c->bad_value, "%s", s);
        }
    }
    if (arena_push(&c->cells, s, len) != 0) fail_nomem(r);
}

/* libcsv's field callback: s[0..len) with s[len] == '\0' (CSV_APPEND_NULL). */
static void on_field(void *s, size_t len, void *data) {
    reader *r = data;
    if (r->status != NN_OK) return;
    size_t f = r->field++;
    if (len > r->max_field) {
        fail(r, NN_ERR_LIMIT, "%s:%zu: field %zu exceeds %zu bytes", r->name, r->row_line, f + 1,
             r->max_field);
        return;
    }
    if (!utf8_valid(s, len)) {
        fail(r, NN_ERR_PARSE, "%s:%zu: not valid UTF-8 text", r->name, r->row_line);
        return;
    }
    if (!r->have_header) {
        header_field(r, s, len);
        return;
    }
    if (f == 0 && r->n_rows >= r->max_rows) {
        fail(r, NN_ERR_LIMIT, "%s:%zu: more than %zu data rows", r->name, r->row_line, r->max_rows);
        return;
    }
    if (f < r->n_names) store_field(r, &r->cols[f], s, len);
    /* extra fields are only counted; on_row reports the mismatch */
}

/* libcsv's row callback. */
static void on_row(int c, void *data) {
    (void)c;
    reader *r = data;
    if (r->status != NN_OK) return;
    if (!r->have_header) {
        finish_header(r);
    } else if (r->field != r->n_names) {
        fail(r, NN_ERR_PARSE, "%s:%zu: expected %zu fields, found %zu", r->name, r->row_line,
             r->n_names, r->field);
        return;
    } else {
        r->n_rows++;
    }
    r->field = 0;
}

/* Spaces belong to the field (RFC 4180); libcsv would otherwise trim them. */
static int no_space(unsigned char c) {
    (void)c;
    return 0;
}

static void reader_init(reader *r, const nn_csv_opts *opts, const char *name, nn_error *err) {
    *r = (reader){.name = name ? name : DEFAULT_NAME,
                  .max_field = NN_CSV_MAX_FIELD,
                  .max_fields = NN_MAX_COLUMNS,
                  .max_rows = NN_CSV_MAX_ROWS,
                  .line = 1,
                  .row_line = 1,
                  .quote_line = 1,
                  .at_line_start = 1,
                  .at_start = 1,
                  .err = err};
    if (opts) {
        if (opts->max_field) r->max_field = opts->max_field;
        if (opts->max_fields && opts->max_fields < NN_MAX_COLUMNS) r->max_fields = opts->max_fields;
        if (opts->max_rows) r->max_rows = opts->max_rows;
        r->text_columns = opts->text_columns;
    }
    (void)csv_init(&r->parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
    csv_set_space_func(&r->parser, no_space);
    csv_set_blk_size(&r->parser, NN_CSV_CHUNK);
}

static void reader_free(reader *r) {
    csv_free(&r->parser);
    for (size_t i = 0; i < r->n_names; i++) {
        free(r->names[i]);
        if (r->cols) free(r->cols[i].cells.buf);
    }
    free(r->names);
    free(r->cols);
}

static void track_quotes(reader *r, const char *s, size_t n) {
    const char *end = s + n;
    while ((s = memchr(s, '"', (size_t)(end - s))) != NULL) {
        r->in_quotes = !r->in_quotes;
        if (r->in_quotes) r->quote_line = r->line;
        s++;
    }
}

static void parser_error(reader *r) {
    int e = csv_error(&r->parser);
    if (e == CSV_EPARSE)
        fail(r, NN_ERR_PARSE, "%s:%zu: misplaced quote in field %zu", r->name, r->line,
             r->field + 1);
    else if (e == CSV_ENOMEM)
        fail_nomem(r);
    else
        fail(r, NN_ERR_LIMIT, "%s:%zu: %s", r->name, r->line, csv_strerror(e));
}

/* Feeds buf[0..len) to the parser in pieces that end at line feeds (see DESIGN). */
static void feed(reader *r, const char *buf, size_t len) {
    if (r->at_start && len > 0) {
        r->at_start = 0;
        if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
            buf += 3;
            len -= 3;
        }
    }
    while (len > 0 && r->status == NN_OK) {
        size_t n = len < NN_CSV_CHUNK ? len : NN_CSV_CHUNK;
        const char *nl = memchr(buf, '\n', n);
        if (nl) n = (size_t)(nl - buf) + 1;
        if (r->at_line_start && !r->in_quotes) r->row_line = r->line;
        track_quotes(r, buf, n);
        size_t done = csv_parse(&r->parser, buf, n, on_field, on_row, r);
        if (r->status != NN_OK) return;
        if (done != n) {
            parser_error(r);
            return;
        }
        if (csv_get_buffer_size(&r->parser) > r->max_field + NN_CSV_CHUNK + 1) {
            fail(r, NN_ERR_LIMIT, "%s:%zu: field %zu exceeds %zu bytes", r->name, r->row_line,
                 r->field + 1, r->max_field);
            return;
        }
        r->at_line_start = nl != NULL;
        if (nl) r->line++;
        buf += n;
        len -= n;
    }
}

/* ---- conversion to a table ------------------------------------------------------------------- */

static nn_status convert_column(reader *r, size_t i, nn_table *t) {
    col_acc *c = &r->cols[i];
    size_t n = r->n_rows;
    const char *p = c->cells.buf;
    nn_status st;
    if (c->text) {
        char **s = calloc(n ? n : 1, sizeof *s);
        if (!s) return nn_error_set(r->err, NN_ERR_NOMEM, "%s: out of memory", r->name);
        for (size_t row = 0; row < n; row++) {
            size_t len = strlen(p);
            if (len > 0) {
                s[row] = malloc(len + 1);
                if (!s[row]) {
                    for (size_t j = 0; j < row; j++) free(s[j]);
                    free(s);
                    return nn_error_set(r->err, NN_ERR_NOMEM, "%s: out of memory", r->name);
                }
                memcpy(s[row], p, len + 1);
            }
            p += len + 1;
        }
        st = nn_table_add_text_take(t, r->names[i], s, NULL, r->err);
    } else {
        double *v = malloc((n ? n : 1) * sizeof *v);
        if (!v) return nn_error_set(r->err, NN_ERR_NOMEM, "%s: out of memory", r->name);
        for (size_t row = 0; row < n; row++) {
            size_t len = strlen(p);
            double x = NAN;
            if (classify(p, len, &x) != CELL_NUMBER) x = NAN;
            v[row] = x;
            p += len + 1;
        }
        st = nn_table_add_number_take(t, r->names[i], v, NULL, r->err);
    }
    free(c->cells.buf);
    c->cells = (arena){0};
    return st;
}

/* Ends the parse and, when all went well, builds the table into *out. Frees r's storage. */
static nn_status reader_finish(reader *r, nn_table **out) {
    if (r->status == NN_OK && csv_fini(&r->parser, on_field, on_row, r) != 0)
        fail(r, NN_ERR_PARSE, "%s:%zu: unterminated quoted field", r->name, r->quote_line);
    if (r->status == NN_OK && !r->have_header) fail(r, NN_ERR_PARSE, "%s: empty file", r->name);
    size_t bad = 0; /* the column with the earliest out-of-range number, + 1 */
    for (size_t i = 0; r->status == NN_OK && i < r->n_names; i++) {
        const col_acc *c = &r->cols[i];
        if (!c->text && c->bad_line && (!bad || c->bad_line < r->cols[bad - 1].bad_line))
            bad = i + 1;
    }
    if (bad)
        fail(r, NN_ERR_PARSE, "%s:%zu: column \"%s\": value \"%s\" is out of range", r->name,
             r->cols[bad - 1].bad_line, r->names[bad - 1], r->cols[bad - 1].bad_value);
    nn_table *t = NULL;
    if (r->status == NN_OK) r->status = nn_table_create(r->n_rows, &t, r->err);
    for (size_t i = 0; r->status == NN_OK && i < r->n_names; i++)
        r->status = convert_column(r, i, t);
    nn_status st = r->status;
    reader_free(r);
    if (st != NN_OK) {
        nn_table_destroy(t);
        return st;
    }
    *out = t;
    return NN_OK;
}

nn_status nn_csv_read_mem(const char *buf, size_t len, const nn_csv_opts *opts, nn_table **out,
                          nn_error *err) {
    reader r;
    reader_init(&r, opts, opts ? opts->name : NULL, err);
    feed(&r, buf, len);
    return reader_finish(&r, out);
}

static const char *errno_text(int e, char *buf, size_t n) {
    if (strerror_r(e, buf, n) != 0) (void)snprintf(buf, n, "error %d", e);
    return buf;
}

nn_status nn_csv_read_file(const char *path, const nn_csv_opts *opts, nn_table **out,
                           nn_error *err) {
    const char *name = opts && opts->name ? opts->name : path;
    char ebuf[128];
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_error_set(err, NN_ERR_IO, "cannot open %s: %s", name,
                            errno_text(errno, ebuf, sizeof ebuf));
    char *chunk = malloc(NN_CSV_CHUNK);
    if (!chunk) {
        (void)fclose(f);
        return nn_error_set(err, NN_ERR_NOMEM, "%s: out of memory", name);
    }
    reader r;
    reader_init(&r, opts, name, err);
    while (r.status == NN_OK) {
        size_t n = fread(chunk, 1, NN_CSV_CHUNK, f);
        feed(&r, chunk, n);
        if (n < NN_CSV_CHUNK) {
            if (ferror(f))
                fail(&r, NN_ERR_IO, "%s: read error: %s", name,
                     errno_text(errno, ebuf, sizeof ebuf));
            break;
        }
    }
    free(chunk);
    (void)fclose(f); /* read-only: nothing to lose */
    return reader_finish(&r, out);
}

/* ---- writing --------------------------------------------------------------------------------- */

static int put(FILE *f, const char *s, size_t n) {
    return n == 0 || fwrite(s, 1, n, f) == n ? 0 : -1;
}

static int needs_quotes(const char *s, size_t n) {
    if (strpbrk(s, ",\"\r\n")) return 1;
    if (is_blank(s[0]) || is_blank(s[n - 1])) return 1;
    return classify(s, n, NULL) != CELL_TEXT; /* would read back as a number or missing */
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
