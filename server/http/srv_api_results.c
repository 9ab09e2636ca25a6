/* srv_api_results.c — a run's history, predictions, model, and predicting new rows. */
#include "srv_api.h"

#include "nn_csv.h"
#include "srv_models.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int wants_csv(const srv_req *req) {
    const char *f = srv_query(req, "format");
    if (f) return strcmp(f, "csv") == 0;
    return srv_accepts(req, "text/csv");
}

/* Appends printf output to a growing buffer; returns -1 when out of memory. */
typedef struct buf {
    char *p;
    size_t len, cap;
    int failed;
} buf;

static void bprintf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(buf *b, const char *fmt, ...) {
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

/* The shortest %g form that reads back as the same double. */
static void fmt_num(buf *b, double v) {
    if (!isfinite(v)) return;
    char t[40];
    for (int prec = 15; prec <= 17; prec++) {
        (void)snprintf(t, sizeof t, "%.*g", prec, v);
        if (strtod(t, NULL) == v) break;
    }
    bprintf(b, "%s", t);
}

static void csv_text(buf *b, const char *s) {
    bprintf(b, "\"");
    for (; s && *s; s++) bprintf(b, *s == '"' ? "\"\"" : "%c", *s);
    bprintf(b, "\"");
}

static const char *const hist_cols[] = {"fold",     "member", "epoch", "train_loss",
                                        "val_loss", "val_r2", "lr",    "seconds"};
/* a classification's history: its validation scores in place of R² */
static const char *const class_hist_cols[] = {"fold",         "member",   "epoch",
                                              "train_loss",   "val_loss", "val_log_loss",
                                              "val_accuracy", "lr",       "seconds"};
enum { N_HIST = 8, N_CLASS_HIST = 9 };

void srv_api_run_history(srv_req *req, srv_resp *resp) {
    srv_run run;
    srv_store *s = srv_api_run(req, resp, &run);
    if (!s) return;
    nn_error err = {0};
    srv_run_free(&run);
    int csv = wants_csv(req);
    json_t *rows = csv ? NULL : json_array();
    buf b = {0};
    const char *const *cols = hist_cols;
    int n_cols = N_HIST, header = 0; /* the header follows the first epoch's keys */
    size_t header_len = 0;
    int64_t after = 0;
    for (;;) {
        srv_event *ev = NULL;
        size_t n = 0;
        if (srv_event_list(s, req->param, after, 1000, &ev, &n, &err) != NN_OK) break;
        for (size_t i = 0; i < n; i++) {
            after = ev[i].seq;
            int status = strcmp(ev[i].type, "status") == 0;
            if (!status && strcmp(ev[i].type, "epoch") != 0) continue;
            json_error_t jerr;
            json_t *d = json_loads(ev[i].data, 0, &jerr);
            if (!d) continue;
            if (status) {
                /* a new attempt (after a restart) starts over: the history is the last one's */
                const char *v = json_string_value(json_object_get(d, "status"));
                if (v && strcmp(v, "running") == 0) {
                    if (csv && header)
                        b.len = header_len;
                    else
                        json_array_clear(rows);
                }
                json_decref(d);
                continue;
            }
            if (csv && !header) {
                if (json_object_get(d, "val_accuracy"))
                    cols = class_hist_cols, n_cols = N_CLASS_HIST;
                for (int c = 0; c < n_cols; c++) bprintf(&b, c ? ",%s" : "%s", cols[c]);
                bprintf(&b, "\n");
                header_len = b.len;
                header = 1;
            }
            if (csv) {
                for (int c = 0; c < n_cols; c++) {
                    if (c) bprintf(&b, ",");
                    fmt_num(&b, json_number_value(json_object_get(d, cols[c])));
                }
                bprintf(&b, "\n");
                json_decref(d);
            } else {
                json_object_del(d, "epochs");
                json_array_append_new(rows, d);
            }
        }
        srv_events_free(ev, n);
        if (n < 1000) break;
    }
    if (err.code != NN_OK) {
        free(b.p);
        json_decref(rows);
        srv_problem_from(resp, &err);
        return;
    }
    if (csv && !header) { /* no epoch yet */
        for (int c = 0; c < N_HIST; c++) bprintf(&b, c ? ",%s" : "%s", hist_cols[c]);
        bprintf(&b, "\n");
    }
    if (csv)
        srv_text(resp, 200, "text/csv; charset=utf-8", b.p, b.len);
    else
        srv_json(resp, 200, json_pack("{s:o}", "history", rows));
}

/* The run's target names from its stored spec (array of strings, borrowed from run.spec). */
static json_t *targets_of(const srv_run *run) {
    json_t *t = json_object_get(run->spec, "target");
    return json_is_array(t) ? t : NULL;
}

static void predictions_csv(buf *b, const srv_prediction *p, size_t n, json_t *targets,
                            int has_id) {
    size_t nt = json_array_size(targets);
    bprintf(b, "row,fold%s", has_id ? ",id" : "");
    for (size_t k = 0; k < nt; k++) {
        const char *t = json_string_value(json_array_get(targets, k));
        if (nt == 1)
            bprintf(b, ",actual,predicted");
        else
            bprintf(b, ",actual_%s,predicted_%s", t, t);
    }
    bprintf(b, "\n");
    for (size_t i = 0; i + nt <= n; i += nt) {
        bprintf(b, "%lld,", (long long)p[i].row);
        if (p[i].fold > 0) bprintf(b, "%d", p[i].fold); /* 0: a row without a target */
        if (has_id) {
            bprintf(b, ",");
            if (p[i].id) csv_text(b, p[i].id);
        }
        for (size_t k = 0; k < nt; k++) {
            bprintf(b, ",");
            fmt_num(b, p[i + k].actual);
            bprintf(b, ",");
            fmt_num(b, p[i + k].predicted);
        }
        bprintf(b, "\n");
    }
}

static json_t *predictions_json(const srv_prediction *p, size_t n, json_t *targets, int has_id) {
    size_t nt = json_array_size(targets);
    json_t *list = json_array();
    for (size_t i = 0; list && i + nt <= n; i += nt) {
        json_t *o = json_pack("{s:I, s:o}", "row", (json_int_t)p[i].row, "fold",
                              p[i].fold > 0 ? json_integer(p[i].fold) : json_null());
        if (has_id) json_object_set_new(o, "id", p[i].id ? json_string(p[i].id) : json_null());
        for (size_t k = 0; k < nt; k++) {
            const char *t = json_string_value(json_array_get(targets, k));
            char a[300], q[300];
            (void)snprintf(a, sizeof a, nt == 1 ? "actual" : "actual_%s", t);
            (void)snprintf(q, sizeof q, nt == 1 ? "predicted" : "predicted_%s", t);
            json_object_set_new(
                o, a, isfinite(p[i + k].actual) ? json_real(p[i + k].actual) : json_null());
            json_object_set_new(o, q, json_real(p[i + k].predicted));
        }
        json_array_append_new(list, o);
    }
    return list;
}

void srv_api_run_predictions(srv_req *req, srv_resp *resp) {
    srv_run run;
    srv_store *s = srv_api_run(req, resp, &run);
    if (!s) return;
    nn_error err = {0};
    if (run.status != SRV_RUN_SUCCEEDED) {
        srv_problem(resp, 409, "run %s has no predictions: it is %s", run.id,
                    srv_run_status_name(run.status));
        srv_run_free(&run);
        return;
    }
    srv_prediction *p = NULL;
    size_t n = 0;
    if (srv_prediction_list(s, req->param, &p, &n, &err) != NN_OK) {
        srv_run_free(&run);
        srv_problem_from(resp, &err);
        return;
    }
    json_t *targets = targets_of(&run);
    int has_id = json_is_string(json_object_get(run.spec, "id"));
    const json_t *classes = json_object_get(run.metrics, "classes");
    if (json_is_array(classes) && wants_csv(req)) {
        size_t len = 0;
        char *text = srv_class_predictions_csv(p, n, classes, has_id, &len);
        if (text)
            srv_text(resp, 200, "text/csv; charset=utf-8", text, len);
        else
            srv_problem(resp, 500, "out of memory");
        resp->disposition = "attachment; filename=\"predictions.csv\"";
    } else if (json_is_array(classes)) {
        srv_json(
            resp, 200,
            json_pack("{s:o}", "predictions", srv_class_predictions_json(p, n, classes, has_id)));
    } else if (wants_csv(req)) {
        buf b = {0};
        predictions_csv(&b, p, n, targets, has_id);
        if (b.failed)
            srv_problem(resp, 500, "out of memory");
        else
            srv_text(resp, 200, "text/csv; charset=utf-8", b.p, b.len);
        if (b.failed) free(b.p);
        resp->disposition = "attachment; filename=\"predictions.csv\"";
    } else {
        srv_json(resp, 200,
                 json_pack("{s:o}", "predictions", predictions_json(p, n, targets, has_id)));
    }
    srv_predictions_free(p, n);
    srv_run_free(&run);
}

void srv_api_run_model(srv_req *req, srv_resp *resp) {
    srv_store *s = srv_api_store(req, resp);
    if (!s) return;
    char *text = NULL;
    nn_error err = {0};
    if (srv_model_get(s, req->param, &text, &err) != NN_OK) {
        srv_problem(resp, 404,
                    "run %s has no model (it has not succeeded, or its spec says "
                    "\"final\": \"none\")",
                    req->param);
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

/* A classifier's answer (labels and class probabilities); releases ref, t and pred. */
static void class_answer(srv_req *req, srv_resp *resp, srv_model_ref *ref, nn_table *t,
                         double *pred) {
    srv_class_predict_answer(resp, srv_accepts(req, "text/csv"), srv_model_ref_model(ref), t, pred);
    srv_models_release(srv_engine_models(req->eng), ref);
    nn_table_destroy(t);
    free(pred);
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
        if (strstr(err.msg, "not found"))
            srv_problem(resp, 404, "run %s has no model to predict with", req->param);
        else
            srv_problem_from(resp, &err);
        return;
    }
    nn_model *model = srv_model_ref_model(ref);
    const nn_spec *spec = nn_model_spec(model);
    const char *ct = srv_header(req, "Content-Type");
    nn_table *t = NULL;
    nn_status st;
    if (ct && strncmp(ct, "text/csv", 8) == 0) {
        nn_csv_source src = {.buf = req->body, .len = req->body_len, .name = "body"};
        st = nn_model_read_csv(model, &src, &t, &err);
    } else if (rows_table_fast(req->body, req->body_len, spec, &t)) {
        st = NN_OK;
    } else {
        json_error_t jerr;
        json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
        json_t *rows = json_object_get(body, "rows");
        if (!body)
            st = nn_error_set(&err, NN_ERR_PARSE, "invalid JSON at line %d, column %d: %s",
                              jerr.line, jerr.column, jerr.text);
        else if (!json_is_array(rows))
            st = nn_error_set(&err, NN_ERR_PARSE, "/rows: required, an array of objects");
        else
            st = rows_table(rows, spec, &t, &err);
        json_decref(body);
    }
    double *pred = NULL;
    if (st == NN_OK) st = srv_model_ref_predict(ref, t, &pred, &err);
    size_t n = t ? t->n_rows : 0, nt = spec->n_targets;
    if (st != NN_OK) {
        srv_models_release(srv_engine_models(req->eng), ref);
        nn_table_destroy(t);
        srv_problem(resp, err.code == NN_ERR_NOMEM ? 500 : 422, "%s", err.msg);
        return;
    }
    atomic_fetch_add(&req->ctx->counters.rows_predicted, (long long)n);
    if (nn_model_labels(model)) return class_answer(req, resp, ref, t, pred);
    int idc = spec->id ? nn_table_find(t, spec->id) : -1;
    buf b = {0};
    int csv = srv_accepts(req, "text/csv");
    if (csv) {
        if (idc >= 0) bprintf(&b, "%s,", spec->id);
        for (size_t k = 0; k < nt; k++)
            bprintf(&b, nt == 1 ? "predicted" : "%spredicted_%s", k ? "," : "", spec->targets[k]);
        bprintf(&b, "\n");
    } else {
        bprintf(&b, "{\"targets\":[");
        for (size_t k = 0; k < nt; k++) {
            json_t *name = json_string(spec->targets[k]);
            char *q = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;
            json_decref(name);
            bprintf(&b, "%s%s", k ? "," : "", q ? q : "\"\"");
            free(q);
        }
        bprintf(&b, "],\"predictions\":[");
    }
    for (size_t i = 0; i < n; i++) {
        if (csv) {
            if (idc >= 0) {
                const nn_column *c = &t->cols[idc];
                if (c->type == NN_COL_TEXT)
                    csv_text(&b, c->text[i]);
                else
                    fmt_num(&b, c->num[i]);
                bprintf(&b, ",");
            }
            for (size_t k = 0; k < nt; k++) {
                if (k) bprintf(&b, ",");
                fmt_num(&b, pred[i * nt + k]);
            }
            bprintf(&b, "\n");
        } else {
            bprintf(&b, i ? "," : "");
            if (nt > 1) bprintf(&b, "[");
            for (size_t k = 0; k < nt; k++) bprintf(&b, "%s%.17g", k ? "," : "", pred[i * nt + k]);
            if (nt > 1) bprintf(&b, "]");
        }
    }
    if (!csv) bprintf(&b, "]}");
    srv_models_release(srv_engine_models(req->eng), ref);
    nn_table_destroy(t);
    free(pred);
    if (b.failed) {
        free(b.p);
        srv_problem(resp, 500, "out of memory");
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
