/* srv_buf.c — growable text buffers (see srv_buf.h). */
#include "srv_buf.h"

#include "nn_csv.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for n more bytes and the NUL; 0, or -1 (and failed) when it cannot. */
static int reserve(srv_buf *b, size_t n) {
    if (b->failed) return -1;
    size_t max = b->max ? b->max : SRV_BUF_MAX;
    size_t need = b->len + n + 1;
    if (need > max) {
        b->failed = 1;
        return -1;
    }
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need) cap *= 2;
    if (cap > max) cap = max;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void srv_bput(srv_buf *b, const char *s, size_t n) {
    if (reserve(b, n) != 0) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void srv_bprintf(srv_buf *b, const char *fmt, ...) {
    if (b->failed) return;
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        srv_bput(b, small, (size_t)n);
        return;
    }
    if (reserve(b, (size_t)n) != 0) return;
    va_start(ap, fmt);
    int m = vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (m != n) {
        b->failed = 1;
        return;
    }
    b->len += (size_t)n;
}

static void csv_field(srv_buf *b, const char *text, int always) {
    if (b->failed || !text) return;
    size_t n = nn_csv_format_field(text, always, NULL, 0);
    if (reserve(b, n) != 0) return;
    (void)nn_csv_format_field(text, always, b->p + b->len, n + 1);
    b->len += n;
}

void srv_bcsv(srv_buf *b, const char *text) { csv_field(b, text, 0); }

void srv_bcsv_id(srv_buf *b, const char *text) { csv_field(b, text, 1); }

void srv_bcsv_cell(srv_buf *b, const nn_column *c, size_t row) {
    if (c->type == NN_COL_TEXT)
        srv_bcsv_id(b, c->text[row]);
    else
        srv_bnum(b, c->num[row]);
    srv_bput(b, ",", 1);
}

void srv_bcsv_name(srv_buf *b, const char *prefix, const char *name) {
    size_t np = strlen(prefix), nn = name ? strlen(name) : 0;
    char *field = malloc(np + nn + 1);
    if (!field) {
        b->failed = 1;
        return;
    }
    memcpy(field, prefix, np);
    if (nn) memcpy(field + np, name, nn);
    field[np + nn] = '\0';
    srv_bcsv(b, field);
    free(field);
}

void srv_bjson_str(srv_buf *b, const char *text) {
    static const char hex[] = "0123456789abcdef";
    srv_bput(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            srv_bput(b, e, 2);
        } else if (*p < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            srv_bput(b, e, 6);
        } else {
            srv_bput(b, (const char *)p, 1);
        }
    }
    srv_bput(b, "\"", 1);
}

void srv_bnum(srv_buf *b, double v) {
    if (!isfinite(v)) return;
    char t[40];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(t, sizeof t, "%.*g", prec, v);
        if (strtod(t, NULL) == v) break;
    }
    if (n > 0 && (size_t)n < sizeof t) srv_bput(b, t, (size_t)n);
}

void srv_buf_free(srv_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}
