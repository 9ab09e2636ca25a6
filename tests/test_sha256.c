/* test_sha256 — FIPS 180-4 / NIST example vectors, one-shot and incremental. */
#include "check.h"
#include "nn_sha256.h"

#include <stdlib.h>

static void hex_of(const unsigned char d[32], char out[65]) {
    for (int i = 0; i < 32; i++) (void)snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_sha256_abc(void) {
    char h[65];
    nn_sha256_hex("abc", 3, h);
    CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_sha256_empty(void) {
    char h[65];
    nn_sha256_hex("", 0, h);
    CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_sha256_two_blocks(void) {
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char h[65];
    CHECK(strlen(m) * 8 == 448);
    nn_sha256_hex(m, strlen(m), h);
    CHECK_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_million_a(void) {
    const char *want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    size_t n = 1000000;
    char *m = malloc(n);
    CHECK(m != NULL);
    if (!m) return;
    memset(m, 'a', n);
    char h[65];
    nn_sha256_hex(m, n, h);
    CHECK_STR(h, want);
    /* the same message fed in uneven pieces crosses every block-boundary case */
    nn_sha256 s;
    unsigned char d[32];
    nn_sha256_init(&s);
    size_t off = 0, step = 1;
    while (off < n) {
        size_t take = step < n - off ? step : n - off;
        nn_sha256_update(&s, m + off, take);
        off += take;
        step = step % 131 + 7;
    }
    nn_sha256_final(&s, d);
    hex_of(d, h);
    CHECK_STR(h, want);
    free(m);
}

static void test_sha256_padding_edges(void) {
    /* lengths 55, 56, 63, 64: the padding spills into a second block from 56 on; the
       incremental and one-shot forms must agree, and neighbouring lengths must differ */
    char buf[64], h1[65], h2[65], prev[65] = "";
    memset(buf, 'x', sizeof buf);
    size_t lens[] = {55, 56, 63, 64};
    for (size_t i = 0; i < 4; i++) {
        nn_sha256_hex(buf, lens[i], h1);
        nn_sha256 s;
        unsigned char d[32];
        nn_sha256_init(&s);
        nn_sha256_update(&s, buf, 1);
        nn_sha256_update(&s, buf + 1, lens[i] - 1);
        nn_sha256_final(&s, d);
        hex_of(d, h2);
        CHECK_STR(h1, h2);
        CHECK(strcmp(h1, prev) != 0);
        memcpy(prev, h1, sizeof prev);
    }
}

int main(void) {
    RUN(test_sha256_abc);
    RUN(test_sha256_empty);
    RUN(test_sha256_two_blocks);
    RUN(test_sha256_million_a);
    RUN(test_sha256_padding_edges);
    return check_summary();
}
