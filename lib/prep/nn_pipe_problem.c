/* nn_pipe_problem.c — what the driver and the ops share: reporting problems (stop at the first,
 * or record every one in plan mode, data problems once per step and column), did-you-mean for
 * column names, and the names of numbers and one_hot categories. */
#include "nn_pipe_internal.h"

#include "nn_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PTR_MAX 128

static nn_status report(nn__run *r, nn_status code, const char *pointer, const char *msg) {
    if (r->errs && code != NN_ERR_NOMEM) {
        char ptr[PTR_MAX];
        if (!pointer) (void)snprintf(ptr, sizeof ptr, "/preprocess/%zu", r->step);
        nn_spec_errors_add(r->errs, pointer ? pointer : ptr, "%s", msg);
        return NN_OK;
    }
    if (pointer) return nn_error_set(r->err, code, "%s: %s", pointer, msg);
    return nn_error_set(r->err, code, "%s", msg);
}

nn_status nn__problem(nn__run *r, nn_status code, const char *pointer, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return report(r, code, pointer, msg);
}

nn_status nn__data_problem(nn__run *r, nn_status code, const char *col, const char *fmt, ...) {
    if (r->errs && code != NN_ERR_NOMEM) {
        if (r->quiet) return NN_OK;
        for (size_t i = 0; i < r->n_seen; i++)
            if (r->seen_step[i] == r->step && strcmp(r->seen_col[i], col) == 0) return NN_OK;
        if (r->n_seen < NN__MAX_SEEN) {
            r->seen_step[r->n_seen] = r->step;
            r->seen_col[r->n_seen++] = col;
        }
    }
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return report(r, code, NULL, msg);
}

static const char *column_name_at(const void *cols, size_t i) {
    return ((const nn_column *)cols)[i].name;
}

nn_status nn__no_column(nn__run *r, const nn_table *t, const char *pointer, const char *name) {
    long best = nn_closest(name, t->cols, t->n_cols, column_name_at);
    char hint[NN_MAX_NAME + 32] = "";
    if (best >= 0) (void)snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", t->cols[best].name);
    return nn__problem(r, NN_ERR_SPEC, pointer, "no column \"%s\"%s", name, hint);
}

void nn__fmt_num(double v, char *buf, size_t size) {
    if (v == floor(v) && fabs(v) < 1e15) { /* integers as integers: "zipcode=98010" */
        (void)snprintf(buf, size, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        (void)snprintf(buf, size, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

int nn__cat_name(const char *col, const nn__cat *c, char *buf, size_t size) {
    char num[32];
    if (!c->text) nn__fmt_num(c->num, num, sizeof num);
    int w = snprintf(buf, size, "%s=%s", col, c->text ? c->text : num);
    return w < 0 || (size_t)w >= size ? -1 : 0;
}
