/* nn_sha256.h — SHA-256 (FIPS 180-4), incremental and one-shot.
 *
 * Used to name a spec by its canonical form; not a place for secrets (no constant-time claims,
 * no zeroing of state).
 */
#ifndef NN_SHA256_H
#define NN_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct nn_sha256 {
    uint32_t h[8];         /* chaining state */
    uint64_t n_bytes;      /* message length so far */
    unsigned char buf[64]; /* partial block */
    size_t n_buf;          /* bytes in buf, < 64 */
} nn_sha256;

void nn_sha256_init(nn_sha256 *s);
void nn_sha256_update(nn_sha256 *s, const void *data, size_t len);
/* Writes the 32-byte digest; s must be re-initialized before reuse. */
void nn_sha256_final(nn_sha256 *s, unsigned char digest[32]);
/* One-shot: lowercase hex digest of data, NUL-terminated. */
void nn_sha256_hex(const void *data, size_t len, char out[65]);

#endif
