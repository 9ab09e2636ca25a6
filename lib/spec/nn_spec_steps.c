/* nn_spec_steps.c — the "preprocess" section of a spec: steps, column selectors, date formats.
 * Column names are only checked for shape here; whether they exist is nn_pipe_plan's job. */
#include "nn_spec_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

NN_ENUM_DEFINE(nn_op, nn_op_kind, NN_OP_TABLE, NN_OP_COUNT)
NN_ENUM_DEFINE(nn_date_part, nn_date_part, NN_DATE_PART_TABLE, NN_DATE_PART_COUNT)
NN_ENUM_DEFINE(nn_norm, nn_norm_method, NN_NORM_TABLE, NN_NORM_COUNT)
NN_ENUM_DEFINE(nn_impute, nn_impute_method, NN_IMPUTE_TABLE, NN_IMPUTE_COUNT)
NN_ENUM_DEFINE(nn_encode, nn_bins_encode, NN_ENCODE_TABLE, NN_ENCODE_COUNT)

/* selector keywords, in nn_sel_kind order after NN_SEL_LIST */
static const char *const sel_names[] = {"inputs", "target", "all"};

#define N_OF(a) (sizeof(a) / sizeof(a)[0])
#define OP(x) (1u << (x))
#define MAX_SELECT_NAMES ((size_t)1 << 16)
#define DATE_CONVERSIONS "YmdHMSjby"

static const nn__key step_keys[] = {
    {"op", 0},
    {"columns", 0},
    {"column", 0},
    {"format", OP(NN_OP_DATE)},
    {"extract", OP(NN_OP_DATE)},
    {"keep", OP(NN_OP_DATE) | OP(NN_OP_BINS)},
    {"equal", OP(NN_OP_REPLACE)},
    {"with", OP(NN_OP_REPLACE)},
    {"with_column", OP(NN_OP_REPLACE)},
    {"k", OP(NN_OP_FILTER_OUTLIERS)},
    {"method", OP(NN_OP_NORMALIZE)},
    {"max_categories", OP(NN_OP_ONE_HOT)},
    {"strategy", OP(NN_OP_IMPUTE)},
    {"value", OP(NN_OP_IMPUTE)},
    {"bins", OP(NN_OP_BINS)},
    {"encode", OP(NN_OP_BINS)},
};

static const nn__key select_keys[] = {{"select", 0}, {"except", 0}};

/* "columns" as {"select": "inputs", "except": [...]}; returns its canonical form. */
static json_t *parse_select_obj(nn__ctx *c, const json_t *v, const char *ptr, nn_colsel *sel) {
    nn__check_keys(c, v, ptr, select_keys, N_OF(select_keys), NULL);
    int kind;
    nn__get_name(c, v, ptr, "select", "selector", sel_names, 3, 0, NN__REQUIRED, &kind);
    if (kind < 0) return NULL;
    sel->kind = (nn_sel_kind)(kind + 1);
    const json_t *ex = json_object_get(v, "except");
    if (!ex) return json_string(sel_names[kind]);
    char p[NN__PTR];
    nn__ptr_key(p, ptr, "except");
    nn__names(c, ex, p, MAX_SELECT_NAMES, &sel->except, &sel->n_except);
    json_t *canon = nn__cobj(c);
    nn__cset(c, canon, "select", json_string(sel_names[kind]));
    nn__cset(c, canon, "except", nn__cnames(c, sel->except, sel->n_except));
    return canon;
}

/* A selector value v at ptr; returns its canonical form (a list, a keyword or an object). */
static json_t *parse_selector(nn__ctx *c, const json_t *v, const char *ptr, nn_colsel *sel) {
    if (json_is_array(v)) {
        sel->kind = NN_SEL_LIST;
        nn__names(c, v, ptr, MAX_SELECT_NAMES, &sel->names, &sel->n_names);
        return nn__cnames(c, sel->names, sel->n_names);
    }
    if (json_is_object(v)) return parse_select_obj(c, v, ptr, sel);
    if (json_is_string(v)) {
        for (size_t i = 0; i < N_OF(sel_names); i++) {
            if (strcmp(json_string_value(v), sel_names[i]) == 0) {
                sel->kind = (nn_sel_kind)(i + 1);
                return json_string(sel_names[i]);
            }
        }
        nn_spec_errors_add(c->errs, ptr,
                           "unknown selector \"%.64s\" (expected inputs, target, all or a list "
                           "of names; use \"column\" for one name)",
                           json_string_value(v));
        return NULL;
    }
    nn_spec_errors_add(c->errs, ptr,
                       "must be a list of names, \"inputs\", \"target\", \"all\" or "
                       "{\"select\": ..., \"except\": [...]}");
    return NULL;
}

/* "columns" or "column" of a step; sets the canonical "columns". */
static void parse_colsel(nn__ctx *c, const json_t *step, const char *ptr, nn_op_kind op, nn_step *s,
                         json_t *canon) {
    const json_t *cols = json_object_get(step, "columns"), *col = json_object_get(step, "column");
    char p[NN__PTR];
    nn__ptr_key(p, ptr, col ? "column" : "columns");
    if (cols && col) {
        nn_spec_errors_add(c->errs, p, "give either \"columns\" or \"column\", not both");
        return;
    }
    if (col && op == NN_OP_DROP) {
        nn_spec_errors_add(c->errs, p, "drop takes a \"columns\" list");
        return;
    }
    if (!cols && !col) {
        nn_spec_errors_add(c->errs, p, op == NN_OP_DROP ? "required" : "required (or \"column\")");
        return;
    }
    if (col) {
        const char *name;
        if (!nn__get_str(c, step, ptr, "column", NN__REQUIRED, &name)) return;
        s->cols.kind = NN_SEL_LIST;
        s->cols.names = calloc(1, sizeof *s->cols.names);
        if (!s->cols.names || !(s->cols.names[0] = nn__strdup(c, name))) {
            c->oom = 1;
            return;
        }
        s->cols.n_names = 1;
        nn__cset(c, canon, "columns", nn__cnames(c, s->cols.names, 1));
        return;
    }
    size_t before = c->errs->n + c->errs->n_dropped;
    json_t *sel = parse_selector(c, cols, p, &s->cols);
    if (sel) nn__cset(c, canon, "columns", sel);
    if (op == NN_OP_DATE && before == c->errs->n + c->errs->n_dropped &&
        (s->cols.kind != NN_SEL_LIST || s->cols.n_names != 1))
        nn_spec_errors_add(c->errs, p, "date takes exactly one column");
}

/* strptime formats limited to the conversions nn_pipe implements. */
static void check_date_format(nn__ctx *c, const char *ptr, const char *fmt) {
    int n_conv = 0;
    for (size_t i = 0; fmt[i]; i++) {
        if (fmt[i] != '%') continue;
        unsigned char ch = (unsigned char)fmt[++i];
        if (ch == '\0') {
            nn_spec_errors_add(c->errs, ptr, "ends with a lone %%");
            return;
        }
        if (ch == '%') continue;
        if (!strchr(DATE_CONVERSIONS, ch)) {
            if (ch >= 0x20 && ch < 0x7f)
                nn_spec_errors_add(c->errs, ptr,
                                   "unsupported conversion \"%%%c\" at position %zu (supported: "
                                   "%%Y %%m %%d %%H %%M %%S %%j %%b %%y)",
                                   ch, i - 1);
            else
                nn_spec_errors_add(c->errs, ptr, "unsupported conversion at position %zu", i - 1);
            return;
        }
        n_conv++;
    }
    if (n_conv == 0) nn_spec_errors_add(c->errs, ptr, "has no conversions (e.g. %%Y-%%m-%%d)");
}

/* "extract": a non-empty list of distinct date parts; returns the NN_DATE_* bits (0 on error). */
static unsigned parse_extract(nn__ctx *c, const json_t *v, const char *ptr) {
    if (!json_is_array(v) || json_array_size(v) == 0) {
        nn_spec_errors_add(c->errs, ptr, "must be a non-empty list of date parts");
        return 0;
    }
    unsigned bits = 0;
    int ok = 1;
    for (size_t i = 0; i < json_array_size(v); i++) {
        char p[NN__PTR];
        nn__ptr_index(p, ptr, i);
        const json_t *e = json_array_get(v, i);
        int k = -1;
        for (size_t j = 0; json_is_string(e) && j < N_OF(nn_date_part__texts); j++)
            if (strcmp(json_string_value(e), nn_date_part__texts[j]) == 0) k = (int)j;
        if (k < 0) {
            nn_spec_errors_add(c->errs, p,
                               "must be one of timestamp, year, month, day, weekday, yearday");
            ok = 0;
        } else if (bits & (1u << k)) {
            nn_spec_errors_add(c->errs, p, "duplicate date part \"%s\"", nn_date_part__texts[k]);
            ok = 0;
        }
        if (k >= 0) bits |= 1u << k;
    }
    return ok ? bits : 0;
}

static void parse_date(nn__ctx *c, const json_t *step, const char *ptr, nn_step *s, json_t *canon) {
    const char *fmt;
    char p[NN__PTR];
    if (nn__get_str(c, step, ptr, "format", NN__REQUIRED, &fmt)) {
        nn__ptr_key(p, ptr, "format");
        check_date_format(c, p, fmt);
        s->format = nn__strdup(c, fmt);
        nn__cset(c, canon, "format", json_string(fmt));
    }
    const json_t *ex = json_object_get(step, "extract");
    nn__ptr_key(p, ptr, "extract");
    s->extract = ex ? parse_extract(c, ex, p) : NN_DATE_TIMESTAMP;
    json_t *parts = json_array();
    for (size_t j = 0; parts && j < N_OF(nn_date_part__texts); j++)
        if (s->extract & (1u << j))
            if (json_array_append_new(parts, json_string(nn_date_part__texts[j])) != 0) c->oom = 1;
    nn__cset(c, canon, "extract", parts);
    nn__get_bool(c, step, ptr, "keep", 0, &s->keep);
    nn__cset(c, canon, "keep", json_boolean(s->keep));
}

static void parse_replace(nn__ctx *c, const json_t *step, const char *ptr, nn_step *s,
                          json_t *canon) {
    const nn__range any = {-INFINITY, INFINITY, 0, 0};
    const json_t *eq = json_object_get(step, "equal");
    char p[NN__PTR];
    nn__ptr_key(p, ptr, "equal");
    if (!eq) {
        nn_spec_errors_add(c->errs, p, "required (a number, or null for missing values)");
    } else if (json_is_null(eq)) {
        s->equal_missing = 1;
        nn__cset(c, canon, "equal", json_null());
    } else if (nn__get_real(c, step, ptr, "equal", any, 0, NN__REQUIRED, &s->equal)) {
        nn__cset(c, canon, "equal", json_real(s->equal));
    }
    int has_with = json_object_get(step, "with") != NULL;
    int has_col = json_object_get(step, "with_column") != NULL;
    if (has_with == has_col) {
        nn_spec_errors_add(c->errs, ptr, "needs exactly one of \"with\" and \"with_column\"");
        return;
    }
    if (has_with && nn__get_real(c, step, ptr, "with", any, 0, NN__REQUIRED, &s->with))
        nn__cset(c, canon, "with", json_real(s->with));
    const char *col;
    if (has_col && nn__get_str(c, step, ptr, "with_column", NN__REQUIRED, &col)) {
        s->with_column = nn__strdup(c, col);
        nn__cset(c, canon, "with_column", json_string(col));
    }
}

static void parse_impute(nn__ctx *c, const json_t *step, const char *ptr, nn_step *s,
                         json_t *canon) {
    int strategy;
    nn__get_name(c, step, ptr, "strategy", "strategy", nn_impute__texts, N_OF(nn_impute__texts),
                 NN_IMPUTE_MEAN, NN__OPTIONAL, &strategy);
    if (strategy < 0) return;
    s->strategy = (nn_impute_method)strategy;
    nn__cset(c, canon, "strategy", json_string(nn_impute__texts[strategy]));
    const nn__range any = {-INFINITY, INFINITY, 0, 0};
    char p[NN__PTR];
    nn__ptr_key(p, ptr, "value");
    if (s->strategy != NN_IMPUTE_CONSTANT) {
        if (json_object_get(step, "value"))
            nn_spec_errors_add(c->errs, p, "only for strategy constant");
    } else if (!json_object_get(step, "value")) {
        nn_spec_errors_add(c->errs, p, "required for strategy constant");
    } else if (nn__get_real(c, step, ptr, "value", any, 0, NN__REQUIRED, &s->value)) {
        nn__cset(c, canon, "value", json_real(s->value));
    }
}

/* The op-specific keys of one step. */
static void parse_op_fields(nn__ctx *c, const json_t *step, const char *ptr, nn_step *s,
                            json_t *canon) {
    const nn__range positive = {0, INFINITY, 1, 0};
    switch (s->op) {
    case NN_OP_DATE:
        parse_date(c, step, ptr, s, canon);
        break;
    case NN_OP_REPLACE:
        parse_replace(c, step, ptr, s, canon);
        break;
    case NN_OP_FILTER_OUTLIERS:
        nn__get_real(c, step, ptr, "k", positive, 1.5, NN__OPTIONAL, &s->k);
        nn__cset(c, canon, "k", json_real(s->k));
        break;
    case NN_OP_NORMALIZE: {
        int m;
        nn__get_name(c, step, ptr, "method", "method", nn_norm__texts, N_OF(nn_norm__texts),
                     NN_NORM_MINMAX, NN__OPTIONAL, &m);
        s->method = m < 0 ? NN_NORM_MINMAX : (nn_norm_method)m;
        nn__cset(c, canon, "method", json_string(nn_norm__texts[s->method]));
        break;
    }
    case NN_OP_ONE_HOT: {
        long long m;
        nn__get_int(c, step, ptr, "max_categories", 1, 10000, 100, NN__OPTIONAL, &m);
        s->max_categories = (int)m;
        nn__cset(c, canon, "max_categories", json_integer(m));
        break;
    }
    case NN_OP_IMPUTE:
        parse_impute(c, step, ptr, s, canon);
        break;
    case NN_OP_BINS: {
        long long k;
        nn__get_int(c, step, ptr, "bins", 2, NN_SPEC_MAX_BINS, 16, NN__OPTIONAL, &k);
        s->bins = (int)k;
        nn__cset(c, canon, "bins", json_integer(k));
        int e;
        nn__get_name(c, step, ptr, "encode", "encoding", nn_encode__texts, N_OF(nn_encode__texts),
                     NN_ENCODE_PIECEWISE, NN__OPTIONAL, &e);
        s->encode = e < 0 ? NN_ENCODE_PIECEWISE : (nn_bins_encode)e;
        nn__cset(c, canon, "encode", json_string(nn_encode__texts[s->encode]));
        nn__get_bool(c, step, ptr, "keep", 0, &s->keep);
        nn__cset(c, canon, "keep", json_boolean(s->keep));
        break;
    }
    default:
        break;
    }
}

/* One step at ptr; returns its canonical form (NULL when the op itself is unusable). */
static json_t *parse_step(nn__ctx *c, const json_t *step, const char *ptr, nn_step *s) {
    s->extract = NN_DATE_TIMESTAMP;
    s->k = 1.5;
    s->max_categories = 100;
    s->bins = 16;
    if (!json_is_object(step)) {
        nn_spec_errors_add(c->errs, ptr, "must be an object");
        return NULL;
    }
    int op;
    nn__get_name(c, step, ptr, "op", "op", nn_op__texts, NN_OP_COUNT, -1, NN__REQUIRED, &op);
    nn__variant v = {"op", nn_op__texts, NN_OP_COUNT, op};
    nn__check_keys(c, step, ptr, step_keys, N_OF(step_keys), &v);
    if (op < 0) return NULL;
    s->op = (nn_op_kind)op;
    json_t *canon = nn__cobj(c);
    nn__cset(c, canon, "op", json_string(nn_op__texts[op]));
    parse_colsel(c, step, ptr, s->op, s, canon);
    parse_op_fields(c, step, ptr, s, canon);
    return canon;
}

json_t *nn__parse_steps(nn__ctx *c, const json_t *arr, nn_spec *spec) {
    json_t *canon = json_array();
    if (!canon) c->oom = 1;
    if (!arr) return canon;
    if (!json_is_array(arr)) {
        nn_spec_errors_add(c->errs, "/preprocess", "must be a list of steps");
        return canon;
    }
    size_t n = json_array_size(arr);
    if (n > NN_SPEC_MAX_STEPS) {
        nn_spec_errors_add(c->errs, "/preprocess", "%zu steps, over the limit of %d", n,
                           NN_SPEC_MAX_STEPS);
        return canon;
    }
    if (n == 0) return canon;
    spec->steps = calloc(n, sizeof *spec->steps);
    if (!spec->steps) {
        c->oom = 1;
        return canon;
    }
    spec->n_steps = n;
    for (size_t i = 0; i < n; i++) {
        char p[NN__PTR];
        nn__ptr_index(p, "/preprocess", i);
        json_t *step = parse_step(c, json_array_get(arr, i), p, &spec->steps[i]);
        if (step && canon && json_array_append_new(canon, step) != 0) c->oom = 1;
        if (step && !canon) json_decref(step);
    }
    return canon;
}

void nn__free_step(nn_step *s) {
    nn__free_names(s->cols.names, s->cols.n_names);
    nn__free_names(s->cols.except, s->cols.n_except);
    free(s->format);
    free(s->with_column);
}
