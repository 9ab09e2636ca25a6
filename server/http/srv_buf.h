/* srv_buf.h — a growable text buffer for answers built piece by piece (CSV, JSON text, metrics).
 *
 * Appends never fail loudly: the first failure (out of memory, or the cap) sets `failed` and
 * later appends do nothing, so a writer appends freely and checks once at the end. Every buffer
 * has a cap (max, bytes; 0 = SRV_BUF_MAX) so that no answer grows without bound from input.
 */
#ifndef SRV_BUF_H
#define SRV_BUF_H

#include "nn_table.h"

#include <stddef.h>

#define SRV_BUF_MAX ((size_t)1 << 30) /* the default cap: 1 GiB */

typedef struct srv_buf {
    char *p; /* owned; NUL-terminated while not failed */
    size_t len, cap, max;
    int failed;
} srv_buf;

/* Appends printf output. */
void srv_bprintf(srv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends n bytes. */
void srv_bput(srv_buf *b, const char *s, size_t n);
/* Appends a string literal. */
#define srv_bputs(b, literal) srv_bput((b), "" literal, sizeof(literal) - 1)
/* Appends text as a CSV field, quoted when RFC 4180 needs it (nn_csv's rule: comma, quote, CR,
 * LF, leading or trailing blanks, or a value that would read back as a number or missing). */
void srv_bcsv(srv_buf *b, const char *text);
/* The same, always quoted: an identifier ("0322059210") a reader must keep as text. */
void srv_bcsv_id(srv_buf *b, const char *text);
/* Appends row's value of the id column c and a comma: text always quoted (an identifier), a
 * number as it reads back. */
void srv_bcsv_cell(srv_buf *b, const nn_column *c, size_t row);
/* Appends prefix followed by name as one CSV field ("actual_" and "c,d" give "actual_c,d" in
 * quotes): a column's name may hold anything but NUL. */
void srv_bcsv_name(srv_buf *b, const char *prefix, const char *name);
/* Appends text as a JSON string (quoted and escaped). */
void srv_bjson_str(srv_buf *b, const char *text);
/* Appends a number with the fewest significant digits (15–17) that read back as v; nothing
 * for NaN or an infinity (an empty CSV field). */
void srv_bnum(srv_buf *b, double v);
/* Frees the text and resets the buffer. */
void srv_buf_free(srv_buf *b);

#endif
