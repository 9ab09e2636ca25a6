/* nn_csv.c — reading CSV into a table, on top of libcsv (writing is nn_csv_write.c).
 *
 * DESIGN
 *
 * Streaming. Input is fed in pieces of at most NN_CSV_CHUNK bytes that never cross a line feed:
 * feed() cuts each chunk after every '\n'. Cutting at line feeds is what gives errors their line
 * numbers without a second parser: before each piece that starts a physical line we know the
 * line number, and a row starts on that line exactly when the line does not begin inside a
 * quoted field. Whether it does is the parity of the quote characters seen so far: strict mode
 * (CSV_STRICT) rejects a quote anywhere but at the start of a field, at its end, or doubled
 * inside it, so in accepted input an odd count means "inside quotes".
 *
 * Two splitters. A piece that is a whole line, starting outside quotes, whose quotes (if any)
 * are all well formed — quoted fields that open at a field's start, close before a comma or
 * the line end, and double any quote inside — and with no carriage return but one before the
 * line feed, is split here (split_line): that is one row, and the fields are exactly the ones
 * libcsv would produce. Every other piece goes to libcsv's csv_parse, which calls on_field and
 * on_row the same way and reports the errors. libcsv is then always at the start of a row when
 * a line starts outside quotes, so the two take turns freely. libcsv buffers a field until its
 * end; its buffer grows in NN_CSV_CHUNK blocks, so checking the buffer size after each piece
 * bounds a runaway field to max_field plus two blocks before we stop.
 *
 * Storage. Each field is converted as it arrives (nn_csv_cell.c): a number column keeps
 * doubles, a text column malloc'd strings, in blocks of BLOCK_ROWS cells (the first block grows
 * on the heap from a few cells, so that small inputs stay small; full blocks are mapped from the
 * system, see block_new): growing never copies, and a column holds about its final size. At the
 * end each column's blocks are concatenated into the table's array and freed, column by column,
 * so the peak is the table plus one column.
 *
 * Inference. A column starts as "number" and turns "text" for good at the first field that
 * classification calls text; fields it calls missing (empty, NA tokens, blanks) do not count.
 * The rows before that field were kept as numbers, but a text column must hold them as they
 * were written: the column remembers that its first `refill` rows need their text, and after
 * the main pass a second pass over the same input (refill mode, the buffer again or the file
 * from its start) stores just those fields, and stops after the last such row. In the usual
 * file — text columns text from their first row — there is no second pass. An out-of-range
 * number (1e999, inf) is remembered with its line, the first one per column, and becomes an
 * error only if the column is still numeric at the end; in a text column it is just text.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "nn_csv.h"
#include "nn_csv_internal.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define DEFAULT_NAME "<input>"
#define BAD_VALUE_MAX 48      /* bytes of an out-of-range value kept for its message */
#define BLOCK_ROWS 16384      /* cells per storage block (128 KiB); a power of two */
#define FIRST_BLOCK_ROWS 16   /* the first block starts this small and doubles... */
#define SMALL_BLOCK_ROWS 1024 /* ...up to this, on the heap; then it is a full block */

/* ---- reader state ---------------------------------------------------------------------------- */

/* One cell of a column being read: its number, or its text (NULL = missing). */
typedef union cell {
    double num;
    char *text;
} cell;

typedef struct col_acc {
    cell **blocks; /* (n_blocks) blocks of BLOCK_ROWS cells; block 0 has first_cap cells */
    size_t n_blocks, cap_blocks, first_cap;
    int text;        /* forced by text_columns, or a field was text */
    size_t refill;   /* rows before this one were read as numbers: their text comes later */
    size_t bad_line; /* line of the first out-of-range number, 0 = none */
    char bad_value[BAD_VALUE_MAX];
} col_acc;

typedef struct reader {
    const char *name; /* borrowed, for messages */
    size_t max_field, max_fields, max_rows;
    const char *const *text_columns;
    struct csv_parser parser;
    char *line_buf; /* (NN_CSV_CHUNK + 1) a line split here, then cut into fields */

    size_t line;       /* physical line of the bytes being fed, 1-based */
    size_t row_line;   /* line on which the current row started */
    size_t quote_line; /* line of the last opening quote */
    int in_quotes;     /* odd number of quotes so far: inside a quoted field */
    int at_line_start;
    int at_start; /* nothing fed yet: a BOM may follow */

    int have_header;
    char **names; /* (n_names) owned column names from the header */
    size_t n_names, cap_names;

    col_acc *cols; /* (n_names) once the header is complete; borrowed in refill mode */
    size_t field;  /* index of the current field in the current row */
    size_t n_rows; /* complete data rows */

    int refill;         /* refill mode: store the text of the rows before cols[f].refill */
    size_t refill_rows; /* refill mode: stop after this many rows */
    int stop;           /* refill mode: all rows needed are stored */

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
    if (r->status == NN_OK) r->status = code; /* err may be NULL */
}

static void fail_nomem(reader *r) { fail(r, NN_ERR_NOMEM, "%s: out of memory", r->name); }

/* ---- column storage -------------------------------------------------------------------------- */

/* A full block of BLOCK_ROWS zeroed cells, mapped from the system rather than taken from
 * malloc, and given back to it when freed: a big table's blocks then never become free chunks
 * in a malloc heap (glibc's dynamic mmap threshold would put them there once the process has
 * freed a larger mapped chunk, and the heap cannot shrink below the table's strings), so an
 * nnd that reads many uploads returns to its size after each. NULL when out of memory. */
static cell *block_new(void) {
    void *b = mmap(NULL, BLOCK_ROWS * sizeof(cell), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return b == MAP_FAILED ? NULL : b;
}

/* Frees block b of column c. */
static void block_free(const col_acc *c, size_t b) {
    if (b == 0 && c->first_cap < BLOCK_ROWS)
        free(c->blocks[0]);
    else
        (void)munmap(c->blocks[b], BLOCK_ROWS * sizeof(cell));
}

/* Grows block 0 of c to hold k + 1 cells: on the heap while small, then a full block. */
static int grow_first(col_acc *c, size_t k) {
    size_t cap = c->first_cap ? c->first_cap * 2 : FIRST_BLOCK_ROWS;
    while (cap <= k) cap *= 2;
    cell *grown;
    if (cap <= SMALL_BLOCK_ROWS) {
        grown = realloc(c->n_blocks ? c->blocks[0] : NULL, cap * sizeof *grown);
        if (!grown) return -1;
        memset(grown + c->first_cap, 0, (cap - c->first_cap) * sizeof *grown);
    } else {
        cap = BLOCK_ROWS;
        if (!(grown = block_new())) return -1;
        if (c->n_blocks) {
            memcpy(grown, c->blocks[0], c->first_cap * sizeof *grown);
            free(c->blocks[0]);
        }
    }
    if (!c->n_blocks) {
        if (!c->blocks && !(c->blocks = malloc(16 * sizeof(cell *)))) {
            if (cap < BLOCK_ROWS)
                free(grown);
            else
                (void)munmap(grown, BLOCK_ROWS * sizeof(cell));
            return -1;
        }
        c->cap_blocks = 16;
        c->n_blocks = 1;
    }
    c->blocks[0] = grown;
    c->first_cap = cap;
    return 0;
}

/* The cell of row `row` of c, making room for it (rows arrive in order); NULL when out of
 * memory. New cells are zero: NULL text. */
static cell *col_cell(col_acc *c, size_t row) {
    size_t b = row / BLOCK_ROWS, k = row % BLOCK_ROWS;
    if (b == 0 && k >= c->first_cap) {
        if (grow_first(c, k) != 0) return NULL;
    } else if (b > 0 && b == c->n_blocks) {
        if (c->n_blocks == c->cap_blocks) {
            cell **grown = realloc(c->blocks, 2 * c->cap_blocks * sizeof(cell *));
            if (!grown) return NULL;
            c->blocks = grown;
            c->cap_blocks *= 2;
        }
        if (!(c->blocks[b] = block_new())) return NULL;
        c->n_blocks++;
    }
    return &c->blocks[b][k];
}

/* The cell of an existing row. */
static cell *col_at(const col_acc *c, size_t row) {
    return &c->blocks[row / BLOCK_ROWS][row % BLOCK_ROWS];
}

/* Frees c's blocks, and the strings in them when c is text. */
static void col_free(col_acc *c) {
    for (size_t b = 0; b < c->n_blocks; b++) {
        size_t n = b == 0 ? c->first_cap : BLOCK_ROWS;
        for (size_t k = 0; c->text && k < n; k++) free(c->blocks[b][k].text);
        block_free(c, b);
    }
    free(c->blocks);
    *c = (col_acc){0};
}

/* A malloc'd copy of s[0..len), NULL for an empty field; *ok = 0 when out of memory. */
static char *text_copy(const char *s, size_t len, int *ok) {
    *ok = 1;
    if (len == 0) return NULL;
    char *t = malloc(len + 1);
    if (!t) {
        *ok = 0;
        return NULL;
    }
    memcpy(t, s, len);
    t[len] = '\0';
    return t;
}

/* The column turns text at row `row`: the numbers before it become missing text for now. */
static void col_turn_text(col_acc *c, size_t row) {
    for (size_t i = 0; i < row; i++) col_at(c, i)->text = NULL;
    c->text = 1;
    c->refill = row;
}

/* ---- fields and rows ------------------------------------------------------------------------- */

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

static void not_utf8(reader *r) {
    fail(r, NN_ERR_PARSE, "%s:%zu: not valid UTF-8 text", r->name, r->row_line);
}

/* Stores field s[0..len) (s[len] == '\0') of column c in the current row. A field that is a
 * number, missing or out of range is ASCII, so only text is checked for UTF-8. */
static void store_field(reader *r, col_acc *c, const char *s, size_t len) {
    size_t row = r->n_rows;
    cell *cl = col_cell(c, row);
    if (!cl) {
        fail_nomem(r);
        return;
    }
    if (!c->text) {
        double v = NAN;
        nn__cell_kind k = nn__csv_classify(s, len, &v);
        if (k == NN__CELL_RANGE && !c->bad_line) {
            c->bad_line = r->row_line;
            (void)snprintf(c->bad_value, sizeof c->bad_value, "%s", s);
        }
        if (k != NN__CELL_TEXT) {
            cl->num = k == NN__CELL_NUMBER ? v : NAN;
            return;
        }
        if (!nn__utf8_valid((const unsigned char *)s, len)) {
            not_utf8(r);
            return;
        }
        col_turn_text(c, row);
    } else if (!nn__utf8_valid((const unsigned char *)s, len)) {
        not_utf8(r);
        return;
    }
    int ok;
    cl->text = text_copy(s, len, &ok);
    if (!ok) fail_nomem(r);
}

/* Refill mode: the text of field f of a row that was read as a number. */
static void refill_field(reader *r, size_t f, const char *s, size_t len) {
    if (!r->have_header || f >= r->n_names || r->n_rows >= r->cols[f].refill) return;
    int ok;
    col_at(&r->cols[f], r->n_rows)->text = text_copy(s, len, &ok);
    if (!ok) fail_nomem(r);
}

/* One field s[0..len) (s[len] == '\0') of the current row, from either splitter. */
static void field(reader *r, const char *s, size_t len) {
    if (r->status != NN_OK || r->stop) return;
    size_t f = r->field++;
    if (r->refill) {
        refill_field(r, f, s, len);
        return;
    }
    if (len > r->max_field) {
        fail(r, NN_ERR_LIMIT, "%s:%zu: field %zu exceeds %zu bytes", r->name, r->row_line, f + 1,
             r->max_field);
        return;
    }
    if (!r->have_header || f >= r->n_names || (f == 0 && r->n_rows >= r->max_rows)) {
        if (!nn__utf8_valid((const unsigned char *)s, len)) {
            not_utf8(r);
        } else if (!r->have_header) {
            header_field(r, s, len);
        } else if (f == 0 && r->n_rows >= r->max_rows) {
            fail(r, NN_ERR_LIMIT, "%s:%zu: more than %zu data rows", r->name, r->row_line,
                 r->max_rows);
        }
        return; /* extra fields are only counted; on_row reports the mismatch */
    }
    store_field(r, &r->cols[f], s, len);
}

/* libcsv's field callback. */
static void on_field(void *s, size_t len, void *data) { field(data, s, len); }

/* The end of a row, from either splitter. */
static void row_end(reader *r) {
    if (r->status != NN_OK || r->stop) return;
    if (r->refill) {
        if (!r->have_header)
            r->have_header = 1;
        else if (++r->n_rows >= r->refill_rows)
            r->stop = 1;
    } else if (!r->have_header) {
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

/* libcsv's row callback. */
static void on_row(int c, void *data) {
    (void)c;
    row_end(data);
}

/* ---- splitting lines ------------------------------------------------------------------------- */

/* Splits the line s[0..n) (it ends in '\n', starts outside quotes) into fields as libcsv would
 * and hands them to field() and row_end(); returns 0, having handed nothing, when the line is one
 * to leave to libcsv (see DESIGN). */
static int split_line(reader *r, const char *s, size_t n) {
    size_t end = n - 1; /* the content, without "\n" or "\r\n" */
    if (end > 0 && s[end - 1] == '\r') end--;
    if (end == 0) return 1; /* an empty line: no row */
    if (memchr(s, '\r', end)) return 0;
    const char *q = memchr(s, '"', end);
    /* check the quotes before anything is handed on */
    for (size_t i = 0; q && i < end;) {
        if (s[i] != '"') { /* an unquoted field: no quote may follow before its comma */
            const char *comma = memchr(s + i, ',', end - i);
            size_t stop = comma ? (size_t)(comma - s) : end;
            if (memchr(s + i, '"', stop - i)) return 0;
            i = stop + 1;
            continue;
        }
        size_t j = i + 1;
        for (;;) { /* a quoted field: "" inside, then a closing quote before ',' or the end */
            const char *close = memchr(s + j, '"', end - j);
            if (!close) return 0; /* it goes on past the line feed */
            j = (size_t)(close - s) + 1;
            if (j < end && s[j] == '"') {
                j++;
                continue;
            }
            if (j < end && s[j] != ',') return 0;
            break;
        }
        i = j + 1;
    }
    r->row_line = r->line;
    char *buf = r->line_buf;
    memcpy(buf, s, end);
    buf[end] = '\0';
    for (size_t i = 0;;) {
        char *start = buf + i;
        size_t len;
        if (buf[i] == '"') { /* unquote in place: "" → " */
            size_t w = i, k = i + 1;
            for (;; k++) {
                if (buf[k] == '"') {
                    if (buf[k + 1] != '"') break;
                    k++;
                }
                buf[w++] = buf[k];
            }
            len = w - i;
            i = k + 1; /* at ',' or the end */
        } else {
            char *comma = memchr(buf + i, ',', end - i);
            size_t stop = comma ? (size_t)(comma - buf) : end;
            len = stop - i;
            i = stop;
        }
        int last = i >= end;
        start[len] = '\0';
        field(r, start, len);
        if (last) break;
        i++; /* past the comma */
    }
    /* the analyzer loses r->line_buf across field(): it stays the reader's, freed by reader_free */
    row_end(r); // NOLINT(clang-analyzer-unix.Malloc)
    return 1;
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
    r->line_buf = malloc(NN_CSV_CHUNK + 1);
    if (!r->line_buf) fail_nomem(r);
}

static void reader_free(reader *r) {
    csv_free(&r->parser);
    free(r->line_buf);
    for (size_t i = 0; i < r->n_names; i++) {
        free(r->names[i]);
        if (r->cols) col_free(&r->cols[i]);
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

/* A piece through libcsv. */
static void parse_piece(reader *r, const char *buf, size_t n) {
    if (r->at_line_start && !r->in_quotes) r->row_line = r->line;
    track_quotes(r, buf, n);
    size_t done = csv_parse(&r->parser, buf, n, on_field, on_row, r);
    if (r->status != NN_OK || r->stop) return;
    if (done != n) {
        parser_error(r);
        return;
    }
    if (csv_get_buffer_size(&r->parser) > r->max_field + NN_CSV_CHUNK + 1)
        fail(r, NN_ERR_LIMIT, "%s:%zu: field %zu exceeds %zu bytes", r->name, r->row_line,
             r->field + 1, r->max_field);
}

/* Feeds buf[0..len) in pieces that end at line feeds (see DESIGN). */
static void feed(reader *r, const char *buf, size_t len) {
    if (r->at_start && len > 0) {
        r->at_start = 0;
        if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
            buf += 3;
            len -= 3;
        }
    }
    while (len > 0 && r->status == NN_OK && !r->stop) {
        size_t n = len < NN_CSV_CHUNK ? len : NN_CSV_CHUNK;
        const char *nl = memchr(buf, '\n', n);
        if (nl) n = (size_t)(nl - buf) + 1;
        if (!(nl && r->at_line_start && !r->in_quotes && split_line(r, buf, n)))
            parse_piece(r, buf, n);
        r->at_line_start = nl != NULL;
        if (nl) r->line++;
        buf += n;
        len -= n;
    }
}

/* ---- the input: a buffer or a file ----------------------------------------------------------- */

typedef struct source {
    const char *buf; /* the whole input, or NULL for f */
    size_t len;
    FILE *f; /* borrowed, read from where it stands */
} source;

static const char *errno_text(int e, char *buf, size_t n) {
    if (strerror_r(e, buf, n) != 0) (void)snprintf(buf, n, "error %d", e);
    return buf;
}

/* Feeds the whole source to r, until the end or the first error (or r->stop). */
static void feed_source(reader *r, const source *src) {
    if (!src->f) {
        feed(r, src->buf, src->len);
        return;
    }
    char *chunk = malloc(NN_CSV_CHUNK);
    if (!chunk) {
        fail_nomem(r);
        return;
    }
    char ebuf[128];
    while (r->status == NN_OK && !r->stop) {
        size_t n = fread(chunk, 1, NN_CSV_CHUNK, src->f);
        feed(r, chunk, n);
        if (n < NN_CSV_CHUNK) {
            if (ferror(src->f))
                fail(r, NN_ERR_IO, "%s: read error: %s", r->name,
                     errno_text(errno, ebuf, sizeof ebuf));
            break;
        }
    }
    free(chunk);
}

/* ---- the table ------------------------------------------------------------------------------- */

/* The second pass (see DESIGN): the text of the rows that columns read as numbers before
 * turning text. */
static void refill(reader *r, const source *src) {
    size_t rows = 0;
    for (size_t i = 0; i < r->n_names; i++)
        if (r->cols[i].refill > rows) rows = r->cols[i].refill;
    if (rows == 0) return;
    reader again;
    reader_init(&again, NULL, r->name, r->err);
    again.refill = 1;
    again.refill_rows = rows;
    again.cols = r->cols;
    again.n_names = r->n_names;
    if (src->f && fseek(src->f, 0, SEEK_SET) != 0) {
        char ebuf[128];
        fail(&again, NN_ERR_IO, "%s: cannot read it again: %s", r->name,
             errno_text(errno, ebuf, sizeof ebuf));
    }
    if (again.status == NN_OK) feed_source(&again, src);
    if (again.status == NN_OK && !again.stop && csv_fini(&again.parser, on_field, on_row, &again))
        fail(&again, NN_ERR_IO, "%s: changed while it was read", r->name);
    if (again.status == NN_OK && !again.stop)
        fail(&again, NN_ERR_IO, "%s: changed while it was read", r->name);
    r->status = again.status;
    again.cols = NULL; /* borrowed */
    again.n_names = 0;
    reader_free(&again);
}

/* Moves column i's cells into a new column of t and frees its blocks. */
static nn_status take_column(reader *r, size_t i, nn_table *t) {
    col_acc *c = &r->cols[i];
    size_t n = r->n_rows;
    void *values = malloc((n ? n : 1) * (c->text ? sizeof(char *) : sizeof(double)));
    if (!values) return nn_error_set(r->err, NN_ERR_NOMEM, "%s: out of memory", r->name);
    for (size_t row = 0; row < n; row += BLOCK_ROWS) {
        const cell *b = c->blocks[row / BLOCK_ROWS];
        size_t m = n - row < BLOCK_ROWS ? n - row : BLOCK_ROWS;
        for (size_t k = 0; k < m; k++) {
            if (c->text)
                ((char **)values)[row + k] = b[k].text;
            else
                ((double *)values)[row + k] = b[k].num;
        }
    }
    int text = c->text;
    for (size_t b = 0; b < c->n_blocks; b++) block_free(c, b); /* the strings moved */
    free(c->blocks);
    *c = (col_acc){0};
    return text ? nn_table_add_text_take(t, r->names[i], values, NULL, r->err)
                : nn_table_add_number_take(t, r->names[i], values, NULL, r->err);
}

/* Ends the parse and, when all went well, builds the table into *out. Frees r's storage. */
static nn_status reader_finish(reader *r, const source *src, nn_table **out) {
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
    if (r->status == NN_OK) refill(r, src);
    nn_table *t = NULL;
    if (r->status == NN_OK) r->status = nn_table_create(r->n_rows, &t, r->err);
    for (size_t i = 0; r->status == NN_OK && i < r->n_names; i++) r->status = take_column(r, i, t);
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
    source src = {.buf = buf, .len = len, .f = NULL};
    if (r.status == NN_OK) feed_source(&r, &src);
    return reader_finish(&r, &src, out);
}

nn_status nn_csv_read_file(const char *path, const nn_csv_opts *opts, nn_table **out,
                           nn_error *err) {
    const char *name = opts && opts->name ? opts->name : path;
    char ebuf[128];
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_error_set(err, NN_ERR_IO, "cannot open %s: %s", name,
                            errno_text(errno, ebuf, sizeof ebuf));
    reader r;
    reader_init(&r, opts, name, err);
    source src = {.buf = NULL, .len = 0, .f = f};
    if (r.status == NN_OK) feed_source(&r, &src);
    nn_status st = reader_finish(&r, &src, out);
    (void)fclose(f); /* read-only: nothing to lose */
    return st;
}
