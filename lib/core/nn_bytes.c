/* nn_bytes.c — byte buffers for binary states (see nn_bytes.h DESIGN). */
#include "nn_bytes.h"

#include <stdlib.h>
#include <string.h>

void nn_wbuf_put(nn_wbuf *b, const void *src, size_t n) {
    if (b->failed || n == 0) return;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->failed = 1;
                return;
            }
            cap *= 2;
        }
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

void nn_wbuf_u64(nn_wbuf *b, uint64_t v) { nn_wbuf_put(b, &v, sizeof v); }
void nn_wbuf_i32(nn_wbuf *b, int v) {
    int32_t w = (int32_t)v;
    nn_wbuf_put(b, &w, sizeof w);
}
void nn_wbuf_f64(nn_wbuf *b, double v) { nn_wbuf_put(b, &v, sizeof v); }

void nn_rbuf_get(nn_rbuf *b, void *dst, size_t n) {
    if (b->failed || b->len - b->pos < n) {
        b->failed = 1;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, b->p + b->pos, n);
    b->pos += n;
}

uint64_t nn_rbuf_u64(nn_rbuf *b) {
    uint64_t v;
    nn_rbuf_get(b, &v, sizeof v);
    return v;
}
int nn_rbuf_i32(nn_rbuf *b) {
    int32_t v;
    nn_rbuf_get(b, &v, sizeof v);
    return (int)v;
}
double nn_rbuf_f64(nn_rbuf *b) {
    double v;
    nn_rbuf_get(b, &v, sizeof v);
    return v;
}

uint64_t nn_bytes_mark(void) { return 0x0102030405060700ULL | (uint64_t)sizeof(nn_float); }
