/* srv_ctx.c — the clock and random ids of the context. */
#include "srv_ctx.h"

#include "nn_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int64_t srv_now_ms(void) { return nn_clock_wall_ms(); }

nn_status srv_random_hex(char *out, size_t n, nn_error *err) {
    unsigned char raw[64] = {0};
    size_t need = (n + 1) / 2;
    if (need > sizeof raw) return nn_error_set(err, NN_ERR_INVALID, "id too long");
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        char why[128];
        return nn_error_set(err, NN_ERR_IO, "/dev/urandom: %s",
                            strerror_r(errno, why, sizeof why) == 0 ? why : "cannot open");
    }
    size_t got = 0;
    while (got < need) {
        ssize_t r = read(fd, raw + got, need - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    (void)close(fd);
    if (got < need) return nn_error_set(err, NN_ERR_IO, "/dev/urandom: short read");
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) out[i] = hex[(raw[i / 2] >> ((i % 2) ? 0 : 4)) & 15];
    out[n] = '\0';
    return NN_OK;
}
