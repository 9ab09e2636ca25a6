/* srv_api_results.c — a run's model, and predicting new rows with it (history and predictions:
 * srv_api_pages.c). */
#include "srv_api.h"

#include "nn_csv.h"
#include "srv_buf.h"
#include "srv_models.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void srv_api_no_model(srv_req *req, srv_resp *resp, srv_store *s, const nn_error *err) {
    if (err->code != NN_ERR_NOT_FOUND) {
        srv_problem_from(resp, err);
        return;
    }
    srv_run run;
    memset(&run, 0, sizeof run);
    nn_error e2 = {0};
    if (srv_run_get_text(s, req->param, &run, &e2) != NN_OK) {
        srv_problem_from(resp, &e2); /* no such run: 404 */
        return;
    }
    if (run.status == SRV_RUN_SUCCEEDED)
        srv_problem_code(resp, NN_ERR_NOT_FOUND,
                         "run %s has no model: its spec says \"final\": \"none\"", run.id);
    else if (run.status == SRV_RUN_FAILED || run.status == SRV_RUN_CANCELLED)
        srv_problem_code(resp, NN_ERR_CONFLICT, "run %s %s, so it has no model: %s", run.id,
                         run.status == SRV_RUN_FAILED ? "failed" : "was cancelled",
                         run.error ? run.error : "no reason recorded");
    else
        srv_problem_code(resp, NN_ERR_CONFLICT, "run %s has no model yet: it is %s", run.id,
                         srv_run_status_name(run.status));
    srv_run_free(&run);
}

void srv_api_run_model(srv_req *req, srv_resp *resp) {
    srv_store *s = srv_api_store(req, resp);
    if (!s) return;
    char *text = NULL;
    nn_error err = {0};
    if (srv_model_get(s, req->param, &text, &err) != NN_OK) {
        srv_api_no_model(req, resp, s, &err);
        return;
    }
    srv_text(resp, 200, "application/json", text, strlen(text));
    resp->disposition = "attachment; filename=\"model.json\"";
}

/* {"rows": [{...}, ...]} into a table: a column is text when any of its values is a string or
 * the spec reads it as text; null is a missing value. */
static nn_status rows_table(const json_t *rows, const nn_spec *spec, nn_table **out, nn_error *err);
/* The same for the common body, read without building a JSON tree; 0 when the body is not in
 * the form it reads (then the jansson path answers, errors included). */
static int rows_table_fast(const char *body, size_t len, const nn_spec *spec, nn_table **out);

/* The request's rows as a table: CSV (Content-Type: text/csv, read by the model's input
 * schema) or {"rows": [...]}. */
nn_status srv_api_predict_rows(const srv_req *req, nn_model *model, nn_table **t, nn_error *err) {
    const nn_spec *spec = nn_model_spec(model);
    if (srv_content_type_is(req, "text/csv")) {
        nn_csv_source src = {.buf = req->body, .len = req->body_len, .name = "body"};
        return nn_model_read_csv(model, &src, t, err);
    }
    if (rows_table_fast(req->body, req->body_len, spec, t)) return NN_OK;
    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *rows = json_object_get(body, "rows");
    nn_status st;
    char why[300];
    if (!body) {
        srv_api_json_error(&jerr, why, sizeof why);
        st = nn_error_set(err, NN_ERR_PARSE, "%s", why);
    } else if (!json_is_array(rows)) {
        st = nn_error_set(err, NN_ERR_PARSE, "/rows: required, an array of objects");
    } else {
        st = rows_table(rows, spec, t, err);
    }
    json_decref(body);
    return st;
}

static void regression_answer(srv_buf *b, int csv, const nn_spec *spec, const nn_table *t,
                              const double *pred) {
    size_t n = t->n_rows, nt = spec->n_targets;
    int idc = spec->id ? nn_table_find(t, spec->id) : -1;
    if (csv) {
        if (idc >= 0) srv_bcsv_name(b, "", spec->id), srv_bprintf(b, ",");
        for (size_t k = 0; k < nt; k++) {
            if (k) srv_bprintf(b, ",");
            if (nt == 1)
                srv_bprintf(b, "predicted");
            else
                srv_bcsv_name(b, "predicted_", spec->targets[k]);
        }
        srv_bprintf(b, "\n");
    } else {
        srv_bprintf(b, "{\"targets\":[");
        for (size_t k = 0; k < nt; k++) {
            if (k) srv_bprintf(b, ",");
            srv_bjson_str(b, spec->targets[k]);
        }
        srv_bprintf(b, "],\"predictions\":[");
    }
    for (size_t i = 0; i < n; i++) {
        if (csv) {
            if (idc >= 0) srv_bcsv_cell(b, &t->cols[idc], i);
            for (size_t k = 0; k < nt; k++) {
                if (k) srv_bprintf(b, ",");
                srv_bnum(b, pred[i * nt + k]);
            }
            srv_bprintf(b, "\n");
            continue;
        }
        srv_bprintf(b, i ? "," : "");
        if (nt > 1) srv_bprintf(b, "[");
        for (size_t k = 0; k < nt; k++) {
            double v = pred[i * nt + k];
            if (isfinite(v)) /* JSON has no NaN: a prediction that is not a number is null */
                srv_bprintf(b, "%s%.17g", k ? "," : "", v);
            else
                srv_bprintf(b, "%snull", k ? "," : "");
        }
        if (nt > 1) srv_bprintf(b, "]");
    }
    if (!csv) srv_bprintf(b, "]}");
}

void srv_api_predict_answer(srv_buf *b, int csv, const nn_model *model, const nn_table *t,
                            const double *pred) {
    if (nn_model_labels(model)) /* a classifier: labels and class probabilities */
        srv_class_predict_answer(b, csv, model, t, pred);
    else
        regression_answer(b, csv, nn_model_spec(model), t, pred);
}

void srv_api_run_predict(srv_req *req, srv_resp *resp) {
    srv_store *s = srv_api_store(req, resp);
    if (!s) return;
    if (!req->body || req->body_len == 0) {
        srv_problem(resp, 400,
                    "send rows as CSV (Content-Type: text/csv) or JSON {\"rows\": [...]}");
        return;
    }
    srv_model_ref *ref = NULL;
    nn_error err = {0};
    if (srv_models_acquire(srv_engine_models(req->eng), s, req->param, &ref, &err) != NN_OK) {
        srv_api_no_model(req, resp, s, &err);
        return;
    }
    nn_model *model = srv_model_ref_model(ref);
    nn_table *t = NULL;
    nn_status st = srv_api_predict_rows(req, model, &t, &err);
    double *pred = NULL;
    /* no rows ({"rows": []}, or a CSV header alone): no predictions, whatever the columns */
    if (st == NN_OK && t->n_rows > 0) st = srv_model_ref_predict(ref, t, &pred, &err);
    if (st != NN_OK) {
        srv_models_release(srv_engine_models(req->eng), ref);
        nn_table_destroy(t);
        if (err.code == NN_ERR_NOMEM || err.code == NN_ERR_IO)
            srv_problem_from(resp, &err);
        else /* the rows: malformed, or not what the model reads */
            srv_problem(resp, 422, "%s", err.msg);
        return;
    }
    atomic_fetch_add(&req->ctx->counters.rows_predicted, (long long)t->n_rows);
    srv_buf b = {0};
    int csv = srv_accepts(req, "text/csv");
    srv_api_predict_answer(&b, csv, model, t, pred);
    srv_models_release(srv_engine_models(req->eng), ref);
    nn_table_destroy(t);
    free(pred);
    if (b.failed) {
        srv_buf_free(&b);
        srv_problem_code(resp, NN_ERR_NOMEM, "out of memory");
        return;
    }
    srv_text(resp, 200, csv ? "text/csv; charset=utf-8" : "application/json", b.p, b.len);
}

static int spec_reads_text(const nn_spec *spec, const char *name) {
    if (spec->id && strcmp(spec->id, name) == 0) return 1;
    for (size_t i = 0; i < spec->n_text_columns; i++)
        if (strcmp(spec->text_columns[i], name) == 0) return 1;
    return 0;
}

static nn_status rows_table(const json_t *rows, const nn_spec *spec, nn_table **out,
                            nn_error *err) {
    size_t n = json_array_size(rows);
    json_t *names = json_object(); /* name → 1 if text */
    json_t *order = json_array();
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(rows, i);
        if (!json_is_object(r)) {
            json_decref(names);
            json_decref(order);
            return nn_error_set(err, NN_ERR_PARSE, "/rows/%zu: must be an object", i);
        }
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)r, k, v) {
            if (!json_is_string(v) && !json_is_number(v) && !json_is_null(v)) {
                json_decref(names);
                json_decref(order);
                return nn_error_set(err, NN_ERR_PARSE,
                                    "/rows/%zu/%s: must be a number, a string or null", i, k);
            }
            json_t *seen = json_object_get(names, k);
            int text = json_is_string(v) || spec_reads_text(spec, k);
            if (!seen) {
                json_object_set_new(names, k, json_boolean(text));
                json_array_append_new(order, json_string(k));
            } else if (text && !json_is_true(seen)) {
                json_object_set_new(names, k, json_true());
            }
        }
    }
    nn_table *t = NULL;
    nn_status st = nn_table_create(n, &t, err);
    for (size_t c = 0; st == NN_OK && c < json_array_size(order); c++) {
        const char *name = json_string_value(json_array_get(order, c));
        int text = json_is_true(json_object_get(names, name));
        if (text) {
            char **col = calloc(n ? n : 1, sizeof *col);
            for (size_t i = 0; col && i < n; i++) {
                json_t *v = json_object_get(json_array_get(rows, i), name);
                char nb[32];
                if (json_is_string(v))
                    col[i] = strdup(json_string_value(v));
                else if (json_is_number(v))
                    col[i] = (snprintf(nb, sizeof nb, "%.17g", json_number_value(v)), strdup(nb));
            }
            st = col ? nn_table_add_text_take(t, name, col, NULL, err)
                     : nn_error_set(err, NN_ERR_NOMEM, "out of memory");
        } else {
            double *col = malloc((n ? n : 1) * sizeof *col);
            for (size_t i = 0; col && i < n; i++) {
                json_t *v = json_object_get(json_array_get(rows, i), name);
                col[i] = json_is_number(v) ? json_number_value(v) : NAN;
            }
            st = col ? nn_table_add_number_take(t, name, col, NULL, err)
                     : nn_error_set(err, NN_ERR_NOMEM, "out of memory");
        }
    }
    json_decref(names);
    json_decref(order);
    if (st != NN_OK) {
        nn_table_destroy(t);
        return st;
    }
    *out = t;
    return NN_OK;
}

/* ---- {"rows": [...]} without a JSON tree ----
 *
 * jansson builds a hash table per row and a value per cell, which is most of a JSON predict's
 * time. rows_table_fast reads the body in one pass into per-column cells and builds the same
 * table as rows_table(json_loadb(body)) would: columns in order of first appearance, a column
 * is text when any value is a string or the spec reads it as text, numbers of a text column as
 * "%.17g", null and absent values missing. It reads only the plain form — one top-level key
 * "rows", values that are numbers, null or strings of printable ASCII without escapes — and
 * returns 0 on anything else (escapes, non-ASCII, true/false, nesting, duplicate keys, a number
 * jansson rejects, no rows, any syntax error), for the jansson path to answer exactly as before. */

typedef struct fast_cell {
    double num;
    const char *str; /* into the body, str_len bytes; NULL for a number */
    uint32_t str_len;
    uint8_t kind; /* 0 missing or null, 1 number, 2 string */
} fast_cell;

typedef struct fast_col {
    const char *name;
    size_t name_len;
    fast_cell *cells; /* (row capacity) */
    size_t last_row;  /* 1 + the last row that set it, to catch duplicate keys */
    int has_str;
} fast_col;

typedef struct fast_rd {
    const char *p, *end;
    fast_col *cols;
    size_t n_cols, cap_cols, n_rows, cap_rows;
} fast_rd;

static void fast_ws(fast_rd *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

static int fast_lit(fast_rd *r, char c) {
    fast_ws(r);
    if (r->p < r->end && *r->p == c) {
        r->p++;
        return 1;
    }
    return 0;
}

/* A string without escapes: printable ASCII up to the closing quote. */
static int fast_str(fast_rd *r, const char **s, size_t *n) {
    fast_ws(r);
    if (r->p >= r->end || *r->p != '"') return 0;
    const char *b = ++r->p;
    while (r->p < r->end && *r->p != '"') {
        unsigned char c = (unsigned char)*r->p;
        if (c < 0x20 || c >= 0x80 || c == '\\') return 0;
        r->p++;
    }
    if (r->p >= r->end) return 0;
    *s = b;
    *n = (size_t)(r->p - b);
    r->p++;
    return 1;
}

/* A JSON number as jansson reads it: an integer as long long, else strtod; 0 on overflow. */
static int fast_num(fast_rd *r, double *v) {
    const char *b = r->p, *q = r->p, *e = r->end;
    int real = 0;
    if (q < e && *q == '-') q++;
    if (q >= e || *q < '0' || *q > '9') return 0;
    if (*q == '0')
        q++;
    else
        while (q < e && *q >= '0' && *q <= '9') q++;
    if (q < e && *q == '.') {
        real = 1;
        if (++q >= e || *q < '0' || *q > '9') return 0;
        while (q < e && *q >= '0' && *q <= '9') q++;
    }
    if (q < e && (*q == 'e' || *q == 'E')) {
        real = 1;
        if (++q < e && (*q == '+' || *q == '-')) q++;
        if (q >= e || *q < '0' || *q > '9') return 0;
        while (q < e && *q >= '0' && *q <= '9') q++;
    }
    /* the token must end here: strto* below then stop exactly at q */
    if (q >= e || !(*q == ',' || *q == '}' || *q == ']' || *q == ' ' || *q == '\n' || *q == '\r' ||
                    *q == '\t'))
        return 0;
    char *stop = NULL;
    errno = 0;
    if (real) {
        *v = strtod(b, &stop);
        if (isinf(*v)) return 0; /* jansson: real number overflow */
    } else {
        long long x = strtoll(b, &stop, 10);
        if (errno == ERANGE) return 0; /* jansson: too big integer */
        *v = (double)x;
    }
    if (stop != q) return 0;
    r->p = q;
    return 1;
}

static int fast_grow_rows(fast_rd *r) {
    size_t cap = r->cap_rows ? r->cap_rows * 2 : 256;
    for (size_t c = 0; c < r->n_cols; c++) {
        fast_cell *cells = realloc(r->cols[c].cells, cap * sizeof *cells);
        if (!cells) return 0;
        memset(cells + r->cap_rows, 0, (cap - r->cap_rows) * sizeof *cells);
        r->cols[c].cells = cells;
    }
    r->cap_rows = cap;
    return 1;
}

/* The column named s (n bytes), added when new; guess is where the previous row had its key. */
static fast_col *fast_column(fast_rd *r, const char *s, size_t n, size_t guess) {
    if (guess < r->n_cols && r->cols[guess].name_len == n && memcmp(r->cols[guess].name, s, n) == 0)
        return &r->cols[guess];
    for (size_t c = 0; c < r->n_cols; c++)
        if (r->cols[c].name_len == n && memcmp(r->cols[c].name, s, n) == 0) return &r->cols[c];
    if (r->n_cols == r->cap_cols) {
        size_t cap = r->cap_cols ? r->cap_cols * 2 : 32;
        fast_col *cols = realloc(r->cols, cap * sizeof *cols);
        if (!cols) return NULL;
        r->cols = cols;
        r->cap_cols = cap;
    }
    fast_col *col = &r->cols[r->n_cols];
    memset(col, 0, sizeof *col);
    col->cells = calloc(r->cap_rows, sizeof *col->cells);
    if (!col->cells) return NULL;
    col->name = s;
    col->name_len = n;
    r->n_cols++;
    return col;
}

static int fast_row(fast_rd *r) {
    if (!fast_lit(r, '{')) return 0;
    if (r->n_rows == r->cap_rows && !fast_grow_rows(r)) return 0;
    size_t row = r->n_rows++;
    if (fast_lit(r, '}')) return 1;
    for (size_t k = 0;; k++) {
        const char *key;
        size_t key_len;
        if (!fast_str(r, &key, &key_len) || !fast_lit(r, ':')) return 0;
        fast_col *col = fast_column(r, key, key_len, k);
        if (!col || col->last_row == row + 1) return 0; /* duplicate key */
        col->last_row = row + 1;
        fast_cell *cell = &col->cells[row];
        fast_ws(r);
        if (r->p >= r->end) return 0;
        if (*r->p == '"') {
            const char *v;
            size_t n;
            if (!fast_str(r, &v, &n) || n > UINT32_MAX) return 0;
            cell->kind = 2;
            cell->str = v;
            cell->str_len = (uint32_t)n;
            col->has_str = 1;
        } else if (r->end - r->p >= 4 && memcmp(r->p, "null", 4) == 0) {
            r->p += 4;
        } else {
            if (!fast_num(r, &cell->num)) return 0;
            cell->kind = 1;
        }
        if (fast_lit(r, '}')) return 1;
        if (!fast_lit(r, ',')) return 0;
    }
}

static int fast_parse(fast_rd *r) {
    const char *key;
    size_t n;
    if (!fast_lit(r, '{') || !fast_str(r, &key, &n) || n != 4 || memcmp(key, "rows", 4) != 0 ||
        !fast_lit(r, ':') || !fast_lit(r, '['))
        return 0;
    if (fast_lit(r, ']')) return 0; /* no rows: the jansson path says what that means */
    do {
        if (!fast_row(r)) return 0;
    } while (fast_lit(r, ','));
    if (!fast_lit(r, ']') || !fast_lit(r, '}')) return 0;
    fast_ws(r);
    return r->p == r->end;
}

static int fast_table(fast_rd *r, const nn_spec *spec, nn_table **out) {
    size_t n = r->n_rows;
    nn_table *t = NULL;
    nn_error err = {0};
    char name[1024];
    if (nn_table_create(n, &t, &err) != NN_OK) return 0;
    for (size_t c = 0; c < r->n_cols; c++) {
        const fast_col *col = &r->cols[c];
        if (col->name_len >= sizeof name) break;
        memcpy(name, col->name, col->name_len);
        name[col->name_len] = '\0';
        nn_status st;
        if (col->has_str || spec_reads_text(spec, name)) {
            char **v = calloc(n, sizeof *v);
            int nomem = !v;
            for (size_t i = 0; !nomem && i < n; i++) {
                const fast_cell *cell = &col->cells[i];
                char nb[32];
                if (cell->kind == 2)
                    nomem = !(v[i] = strndup(cell->str, cell->str_len));
                else if (cell->kind == 1)
                    nomem = !(v[i] = (snprintf(nb, sizeof nb, "%.17g", cell->num), strdup(nb)));
            }
            if (nomem && v)
                for (size_t i = 0; i < n; i++) free(v[i]);
            st = nomem ? (free(v), NN_ERR_NOMEM) : nn_table_add_text_take(t, name, v, NULL, &err);
        } else {
            double *v = malloc(n * sizeof *v);
            for (size_t i = 0; v && i < n; i++)
                v[i] = col->cells[i].kind == 1 ? col->cells[i].num : NAN;
            st = v ? nn_table_add_number_take(t, name, v, NULL, &err) : NN_ERR_NOMEM;
        }
        if (st != NN_OK) break;
        if (c + 1 == r->n_cols) {
            *out = t;
            return 1;
        }
    }
    nn_table_destroy(t); /* a failure: the jansson path reports it */
    return 0;
}

static int rows_table_fast(const char *body, size_t len, const nn_spec *spec, nn_table **out) {
    fast_rd r = {.p = body, .end = body + len};
    int ok = fast_parse(&r) && r.n_cols > 0 && fast_table(&r, spec, out);
    for (size_t c = 0; c < r.n_cols; c++) free(r.cols[c].cells);
    free(r.cols);
    return ok;
}
