/* nn_bytes.h — a growing byte buffer to write and a bounded one to read back, for the binary
 * states of trainings in progress (nn_train.h, nn_cv.h).
 *
 * DESIGN: values are copied in the host's byte order and width; a state is read back only by a
 * build with the same ones, which a state's header checks (nn_bytes_mark). A writer that runs
 * out of memory, or a reader that runs past its end, only sets `failed`: the caller checks once
 * at the end instead of after every value.
 */
#ifndef NN_BYTES_H
#define NN_BYTES_H

#include "nn_common.h"

typedef struct nn_wbuf {
    unsigned char *p; /* malloc'd, owned by whoever takes it */
    size_t len, cap;
    int failed; /* out of memory: p holds what fitted */
} nn_wbuf;

typedef struct nn_rbuf {
    const unsigned char *p;
    size_t len, pos;
    int failed; /* a read past the end: what it read is zero */
} nn_rbuf;

void nn_wbuf_put(nn_wbuf *b, const void *src, size_t n);
void nn_wbuf_u64(nn_wbuf *b, uint64_t v);
void nn_wbuf_i32(nn_wbuf *b, int v);
void nn_wbuf_f64(nn_wbuf *b, double v);

void nn_rbuf_get(nn_rbuf *b, void *dst, size_t n);
uint64_t nn_rbuf_u64(nn_rbuf *b);
int nn_rbuf_i32(nn_rbuf *b);
double nn_rbuf_f64(nn_rbuf *b);

/* A word that differs between builds whose states cannot be read by each other: byte order and
 * the width of nn_float. */
uint64_t nn_bytes_mark(void);

#endif
