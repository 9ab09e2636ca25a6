/* srv_api_pages.c — a run's history and out-of-fold predictions, read from the store page by
 * page.
 *
 * DESIGN: both grow with the run (a row per fold, member and epoch; a row per data row), and
 * built whole in memory they cost gigabytes for a long run (about 1.5 KB per history row as
 * JSON values: a million epochs, 4.5 GB). Each is produced by a generator that reads the next
 * page of the store (SRV_PAGE_EVENTS events, SRV_PAGE_ROWS data rows) and formats it as text,
 * so an answer of any size costs one page of memory:
 *  - without `limit`, the whole table is streamed (chunked), page by page as the client reads;
 *    the answer is the same as it always was, whatever the run's size;
 *  - with `limit` (1..SRV_HISTORY_MAX_LIMIT rows) and optionally `cursor`, one page is built
 *    in memory (bounded by the limit) and says where the next starts: "next_cursor" in JSON
 *    (null on the last page) and a Link: <…>; rel="next" header for JSON and CSV alike.
 * The history is the run's last attempt (a run restarted after a crash trains from scratch):
 * rows start after its last "running" status event, and a stream ends at a newer one. A
 * cursor is the sequence number of the last event a page gave.
 * A generator runs on the thread that reads it: libmicrohttpd's, for a stream; it uses that
 * thread's store connection (srv_ctx_store).
 * A classification's history has val_log_loss and val_accuracy where a regression's has val_r2
 * (the CSV header follows the first epoch event of the first page); its predictions name the
 * classes by label (srv_api_class.c formats them).
 */
#include "srv_api.h"

#include "srv_buf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SRV_PAGE_EVENTS 1000
#define SRV_PAGE_ROWS 1000
#define SRV_HISTORY_MAX_LIMIT 10000

static int wants_csv(const srv_req *req) {
    const char *f = srv_query(req, "format");
    if (f) return strcmp(f, "csv") == 0;
    return srv_accepts(req, "text/csv");
}

/* A JSON number: shortest round-trip digits, ".0" on an integral value (it is a real); null for
 * NaN and infinities. */
static void json_num(srv_buf *b, double v) {
    if (!isfinite(v)) {
        srv_bput(b, "null", 4);
        return;
    }
    size_t at = b->len;
    srv_bnum(b, v);
    if (!b->failed && !memchr(b->p + at, '.', b->len - at) && !memchr(b->p + at, 'e', b->len - at))
        srv_bput(b, ".0", 2);
}

/* ---- history ---- */

static const char *const hist_cols[] = {"fold",     "member", "epoch", "train_loss",
                                        "val_loss", "val_r2", "lr",    "seconds"};
static const char *const class_hist_cols[] = {"fold",         "member",   "epoch",
                                              "train_loss",   "val_loss", "val_log_loss",
                                              "val_accuracy", "lr",       "seconds"};
enum { N_HIST = 8, N_CLASS_HIST = 9 };

typedef enum gen_state { GEN_HEAD, GEN_ROWS, GEN_PEEK, GEN_TAIL, GEN_END } gen_state;

typedef struct history_gen {
    srv_ctx *ctx;
    char run_id[SRV_ID_LEN + 1];
    int csv;
    const char *const *cols; /* CSV columns: hist_cols or class_hist_cols */
    int n_cols;
    int64_t start; /* rows come after this event (the last attempt's start) */
    int64_t after; /* events read up to this sequence number */
    int64_t limit; /* rows to give; -1 = all (a stream) */
    int64_t given; /* rows given */
    int64_t last;  /* sequence number of the last row given: the next cursor */
    int more;      /* a row exists beyond the limit */
    gen_state state;
    srv_event *ev; /* the current page: ev[i..n) not yet read */
    size_t n, i;
    int exhausted; /* the store has no events after the current page */
} history_gen;

static void history_done(void *cls) {
    history_gen *g = cls;
    srv_events_free(g->ev, g->n);
    free(g);
}

/* One epoch event's data as a row. */
static void history_row(history_gen *g, srv_buf *out, json_t *d) {
    if (g->csv) {
        for (int c = 0; c < g->n_cols; c++) {
            if (c) srv_bput(out, ",", 1);
            srv_bnum(out, json_number_value(json_object_get(d, g->cols[c])));
        }
        srv_bput(out, "\n", 1);
        return;
    }
    json_object_del(d, "epochs");
    char *text = json_dumps(d, JSON_COMPACT | JSON_REAL_PRECISION(17));
    if (!text) {
        out->failed = 1;
        return;
    }
    if (g->given) srv_bput(out, ",", 1);
    srv_bput(out, text, strlen(text));
    free(text);
}

/* Reads the next page of events when the current one is used up; 0, or -1 on an error. */
static int history_page(history_gen *g) {
    if (g->i < g->n) return 0;
    srv_events_free(g->ev, g->n);
    g->ev = NULL;
    g->n = g->i = 0;
    if (g->exhausted) return 0;
    nn_error err = {0};
    srv_store *s = srv_ctx_store(g->ctx, &err);
    if (!s || srv_event_list(s, g->run_id, g->after, SRV_PAGE_EVENTS, &g->ev, &g->n, &err) != NN_OK)
        return -1;
    g->exhausted = g->n < SRV_PAGE_EVENTS;
    return 0;
}

/* The CSV columns: a classification's when the page's first epoch event has val_accuracy. */
static void classify_columns(history_gen *g) {
    g->cols = hist_cols;
    g->n_cols = N_HIST;
    for (size_t i = g->i; i < g->n; i++) {
        if (strcmp(g->ev[i].type, "epoch") != 0) continue;
        if (strstr(g->ev[i].data, "\"val_accuracy\"")) {
            g->cols = class_hist_cols;
            g->n_cols = N_CLASS_HIST;
        }
        return;
    }
}

/* Appends the next piece of the history to out: 1, 0 at the end, -1 on an error. */
static int history_next(void *cls, srv_buf *out) {
    history_gen *g = cls;
    switch (g->state) {
    case GEN_HEAD:
        if (g->csv) {
            if (history_page(g) != 0) return -1;
            classify_columns(g);
            for (int c = 0; c < g->n_cols; c++) srv_bprintf(out, c ? ",%s" : "%s", g->cols[c]);
            srv_bput(out, "\n", 1);
        } else {
            srv_bprintf(out, "{\"history\":[");
        }
        g->state = GEN_ROWS;
        return 1;
    case GEN_ROWS:
    case GEN_PEEK:
        if (history_page(g) != 0) return -1;
        if (g->n == 0) {
            g->state = GEN_TAIL;
            return 1;
        }
        for (; g->i < g->n && (g->state == GEN_ROWS || g->state == GEN_PEEK); g->i++) {
            const srv_event *e = &g->ev[g->i];
            g->after = e->seq;
            int status = strcmp(e->type, "status") == 0;
            if (!status && strcmp(e->type, "epoch") != 0) continue;
            json_error_t jerr;
            json_t *d = json_loads(e->data, 0, &jerr);
            if (!d) continue;
            const char *v = status ? json_string_value(json_object_get(d, "status")) : NULL;
            if (status && v && strcmp(v, "running") == 0) {
                g->state = GEN_TAIL; /* a newer attempt started: this one's history ends */
                g->exhausted = 1;
            } else if (!status && g->state == GEN_PEEK) {
                g->more = 1;
                g->state = GEN_TAIL;
            } else if (!status) {
                history_row(g, out, d);
                g->given++;
                g->last = e->seq;
                if (g->limit >= 0 && g->given == g->limit) g->state = GEN_PEEK;
            }
            json_decref(d);
        }
        if (g->i == g->n && g->exhausted && g->state != GEN_TAIL) g->state = GEN_TAIL;
        return out->failed ? -1 : 1;
    case GEN_TAIL:
        if (!g->csv) {
            srv_bput(out, "]", 1);
            if (g->limit >= 0) {
                if (g->more)
                    srv_bprintf(out, ",\"next_cursor\":\"%lld\"", (long long)g->last);
                else
                    srv_bprintf(out, ",\"next_cursor\":null");
            }
            srv_bput(out, "}", 1);
        }
        g->state = GEN_END;
        return 1;
    case GEN_END:
    default:
        return 0;
    }
}

/* A non-negative integer parameter in lo..hi: 1 and *out, 0 when absent, -1 when invalid. */
static int int_param(const srv_req *req, const char *name, long long lo, long long hi,
                     long long *out) {
    const char *v = srv_query(req, name);
    if (!v) return 0;
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi) return -1;
    *out = x;
    return 1;
}

/* Runs a generator to its end into one buffer (a page bounded by its limit). */
static int generate_all(int (*next)(void *, srv_buf *), void *gen, srv_buf *out) {
    for (;;) {
        int r = next(gen, out);
        if (r < 0 || out->failed) return -1;
        if (r == 0) return 0;
    }
}

void srv_api_run_history(srv_req *req, srv_resp *resp) {
    srv_run run;
    srv_store *s = srv_api_run(req, resp, &run);
    if (!s) return;
    srv_run_free(&run);
    long long limit = -1, cursor = 0;
    int has_limit = int_param(req, "limit", 1, SRV_HISTORY_MAX_LIMIT, &limit);
    int has_cursor = int_param(req, "cursor", 0, INT64_MAX, &cursor);
    if (has_limit < 0 || has_cursor < 0) {
        srv_problem(resp, 400, "limit: an integer in 1..%d; cursor: a next_cursor of a page",
                    SRV_HISTORY_MAX_LIMIT);
        return;
    }
    history_gen *g = calloc(1, sizeof *g);
    nn_error err = {0};
    if (!g) {
        srv_problem_code(resp, NN_ERR_NOMEM, "out of memory");
        return;
    }
    g->ctx = req->ctx;
    memcpy(g->run_id, req->param, sizeof g->run_id);
    g->csv = wants_csv(req);
    g->limit = has_limit > 0 ? limit : -1;
    if (srv_history_start(s, req->param, &g->start, &err) != NN_OK) {
        free(g);
        srv_problem_from(resp, &err);
        return;
    }
    g->after = g->start > cursor ? g->start : cursor;
    const char *type = g->csv ? "text/csv; charset=utf-8" : "application/json";
    if (g->limit < 0) { /* the whole history, streamed */
        resp->status = 200;
        resp->content_type = type;
        srv_resp_stream(resp, history_next, history_done, g);
        return;
    }
    srv_buf b = {0};
    int rc = generate_all(history_next, g, &b);
    if (rc == 0 && g->more)
        (void)snprintf(resp->link, sizeof resp->link,
                       "</v1/runs/%s/history?limit=%lld&cursor=%lld%s>; rel=\"next\"", g->run_id,
                       limit, (long long)g->last, g->csv ? "&format=csv" : "");
    history_done(g);
    if (rc != 0) {
        srv_buf_free(&b);
        srv_problem_code(resp, NN_ERR_NOMEM, "cannot read the history");
        return;
    }
    srv_text(resp, 200, type, b.p, b.len);
}

/* ---- predictions ---- */

typedef struct predictions_gen {
    srv_ctx *ctx;
    char run_id[SRV_ID_LEN + 1];
    int csv, has_id;
    size_t nt;      /* targets */
    char **targets; /* (nt) names, owned */
    char **classes; /* (k) a classification's labels, owned; NULL for a regression */
    size_t k;
    int64_t after; /* data rows given up to this one */
    gen_state state;
    int exhausted;
} predictions_gen;

static void predictions_done(void *cls) {
    predictions_gen *g = cls;
    for (size_t k = 0; g->targets && k < g->nt; k++) free(g->targets[k]);
    free(g->targets);
    for (size_t c = 0; g->classes && c < g->k; c++) free(g->classes[c]);
    free(g->classes);
    free(g);
}

static void predictions_head(predictions_gen *g, srv_buf *out) {
    if (g->classes) {
        srv_class_predictions_head(out, g->csv, g->has_id, g->classes, g->k);
        return;
    }
    if (!g->csv) {
        srv_bprintf(out, "{\"predictions\":[");
        return;
    }
    srv_bprintf(out, "row,fold%s", g->has_id ? ",id" : "");
    for (size_t k = 0; k < g->nt; k++) {
        if (g->nt == 1) {
            srv_bprintf(out, ",actual,predicted");
            continue;
        }
        srv_bput(out, ",", 1);
        srv_bcsv_name(out, "actual_", g->targets[k]);
        srv_bput(out, ",", 1);
        srv_bcsv_name(out, "predicted_", g->targets[k]);
    }
    srv_bput(out, "\n", 1);
}

/* The rows of p[0..n) (n a multiple of nt: whole data rows). */
static void predictions_rows(predictions_gen *g, const srv_prediction *p, size_t n, srv_buf *out) {
    size_t nt = g->nt;
    if (g->classes) {
        srv_class_predictions_rows(out, g->csv, g->has_id, g->classes, g->k, p, n, g->after == 0);
        return;
    }
    for (size_t i = 0; i + nt <= n; i += nt) {
        if (g->csv) {
            srv_bprintf(out, "%lld,", (long long)p[i].row);
            if (p[i].fold > 0) srv_bprintf(out, "%d", p[i].fold); /* 0: a row without a target */
            if (g->has_id) {
                srv_bput(out, ",", 1);
                srv_bcsv_id(out, p[i].id);
            }
            for (size_t k = 0; k < nt; k++) {
                srv_bput(out, ",", 1);
                srv_bnum(out, p[i + k].actual);
                srv_bput(out, ",", 1);
                srv_bnum(out, p[i + k].predicted);
            }
            srv_bput(out, "\n", 1);
            continue;
        }
        srv_bprintf(out, "%s{\"row\":%lld,\"fold\":", g->after || i ? "," : "",
                    (long long)p[i].row);
        if (p[i].fold > 0)
            srv_bprintf(out, "%d", p[i].fold);
        else
            srv_bput(out, "null", 4); /* a row without a target: predicted, in no fold */
        if (g->has_id) {
            srv_bprintf(out, ",\"id\":");
            if (p[i].id)
                srv_bjson_str(out, p[i].id);
            else
                srv_bput(out, "null", 4);
        }
        for (size_t k = 0; k < nt; k++) {
            srv_bput(out, ",", 1);
            if (nt == 1) {
                srv_bprintf(out, "\"actual\":");
            } else {
                char key[NN_MAX_NAME + 16];
                (void)snprintf(key, sizeof key, "actual_%s", g->targets[k]);
                srv_bjson_str(out, key);
                srv_bput(out, ":", 1);
            }
            json_num(out, p[i + k].actual);
            if (nt == 1) {
                srv_bprintf(out, ",\"predicted\":");
            } else {
                char key[NN_MAX_NAME + 16];
                (void)snprintf(key, sizeof key, "predicted_%s", g->targets[k]);
                srv_bput(out, ",", 1);
                srv_bjson_str(out, key);
                srv_bput(out, ":", 1);
            }
            json_num(out, p[i + k].predicted);
        }
        srv_bput(out, "}", 1);
    }
}

static int predictions_next(void *cls, srv_buf *out) {
    predictions_gen *g = cls;
    if (g->state == GEN_HEAD) {
        predictions_head(g, out);
        g->state = GEN_ROWS;
        return 1;
    }
    if (g->state == GEN_TAIL) {
        if (!g->csv) srv_bprintf(out, "]}");
        g->state = GEN_END;
        return 1;
    }
    if (g->state != GEN_ROWS) return 0;
    nn_error err = {0};
    srv_store *s = srv_ctx_store(g->ctx, &err);
    srv_prediction *p = NULL;
    size_t n = 0;
    int64_t want = (int64_t)SRV_PAGE_ROWS * (int64_t)g->nt; /* whole data rows */
    if (!s || srv_prediction_page(s, g->run_id, g->after, want, &p, &n, &err) != NN_OK) return -1;
    predictions_rows(g, p, n, out);
    if (n >= g->nt) g->after = p[n - g->nt].row;
    if ((int64_t)n < want) g->state = GEN_TAIL;
    srv_predictions_free(p, n);
    return out->failed ? -1 : 1;
}

/* A classification's labels (the metrics' "classes") into g; 0, or -1 when out of memory. */
static int copy_classes(predictions_gen *g, const json_t *classes) {
    size_t k = json_array_size(classes);
    if (!json_is_array(classes) || k == 0) return 0;
    if (!(g->classes = calloc(k, sizeof *g->classes))) return -1;
    for (; g->k < k; g->k++) {
        const char *c = json_string_value(json_array_get(classes, g->k));
        if (!(g->classes[g->k] = strdup(c ? c : ""))) return -1;
    }
    return 0;
}

void srv_api_run_predictions(srv_req *req, srv_resp *resp) {
    srv_run run;
    srv_store *s = srv_api_run(req, resp, &run);
    if (!s) return;
    if (run.status != SRV_RUN_SUCCEEDED) {
        srv_problem(resp, 409, "run %s has no predictions: it is %s", run.id,
                    srv_run_status_name(run.status));
        srv_run_free(&run);
        return;
    }
    json_t *targets = json_object_get(run.spec, "target");
    predictions_gen *g = calloc(1, sizeof *g);
    size_t nt = json_is_array(targets) ? json_array_size(targets) : 0;
    if (g) g->targets = calloc(nt ? nt : 1, sizeof *g->targets);
    int nomem = !g || !g->targets;
    for (size_t k = 0; !nomem && k < nt; k++) {
        const char *t = json_string_value(json_array_get(targets, k));
        nomem = !(g->targets[k] = strdup(t ? t : ""));
        if (!nomem) g->nt = k + 1;
    }
    if (nomem || nt == 0) {
        if (g) predictions_done(g);
        srv_run_free(&run);
        srv_problem_code(resp, nomem ? NN_ERR_NOMEM : NN_ERR_IO,
                         nomem ? "out of memory" : "the run's stored spec has no targets");
        return;
    }
    g->ctx = req->ctx;
    memcpy(g->run_id, run.id, sizeof g->run_id);
    g->csv = wants_csv(req);
    g->has_id = json_is_string(json_object_get(run.spec, "id"));
    if (copy_classes(g, json_object_get(run.metrics, "classes")) != 0) {
        predictions_done(g);
        srv_run_free(&run);
        srv_problem_code(resp, NN_ERR_NOMEM, "out of memory");
        return;
    }
    srv_run_free(&run);
    resp->status = 200;
    resp->content_type = g->csv ? "text/csv; charset=utf-8" : "application/json";
    if (g->csv) resp->disposition = "attachment; filename=\"predictions.csv\"";
    srv_resp_stream(resp, predictions_next, predictions_done, g);
}
