/* nn_spec_errors.c — the list of a spec's problems (pointer and message each, the first
 * NN_SPEC_MAX_ERRORS kept, the rest counted), filled by every part of the parser and by the
 * plan, and turned into one nn_error for callers that want a single message. */
#include "nn_spec.h"

#include <stdarg.h>
#include <stdio.h>

void nn_spec_errors_add(nn_spec_errors *errs, const char *pointer, const char *fmt, ...) {
    if (errs->n >= NN_SPEC_MAX_ERRORS) {
        errs->n_dropped++;
        return;
    }
    nn_spec_error *e = &errs->items[errs->n++];
    (void)snprintf(e->pointer, sizeof e->pointer, "%s", pointer);
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

nn_status nn_spec_errors_to_error(const nn_spec_errors *errs, nn_error *err) {
    if (!errs || errs->n == 0) {
        nn_error_clear(err);
        return NN_OK;
    }
    const nn_spec_error *e = &errs->items[0];
    size_t more = errs->n - 1 + errs->n_dropped;
    char tail[48] = "";
    if (more) (void)snprintf(tail, sizeof tail, " (and %zu more)", more);
    if (e->pointer[0])
        return nn_error_set(err, NN_ERR_SPEC, "%s: %s%s", e->pointer, e->message, tail);
    return nn_error_set(err, NN_ERR_SPEC, "%s%s", e->message, tail);
}
