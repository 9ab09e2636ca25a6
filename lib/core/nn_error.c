/* nn_error.c — status names and error messages. */
#include "nn_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NN__STATUS_TEXT(name, text) text,
static const char *const status_text[] = {NN_STATUS_TABLE(NN__STATUS_TEXT)};
#undef NN__STATUS_TEXT

const char *nn_status_str(nn_status code) {
    if ((int)code < 0 || code >= NN_STATUS_COUNT) return "unknown status";
    return status_text[code];
}

nn_status nn_error_set(nn_error *err, nn_status code, const char *fmt, ...) {
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

nn_status nn_error_prefix(nn_error *err, const char *fmt, ...) {
    if (!err) return NN_OK;
    char prefix[sizeof err->msg];
    char old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strnlen(prefix, sizeof prefix - 1);
    memcpy(err->msg, prefix, n);
    size_t m = strnlen(old, sizeof old - 1);
    if (m > sizeof err->msg - 1 - n) m = sizeof err->msg - 1 - n;
    memcpy(err->msg + n, old, m);
    err->msg[n + m] = '\0';
    return err->code;
}

void nn_error_clear(nn_error *err) {
    if (!err) return;
    err->code = NN_OK;
    err->msg[0] = '\0';
}

int nn_enum_find(const char *const *texts, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(texts[i], name) == 0) return i;
    return -1;
}
