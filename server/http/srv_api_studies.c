/* srv_api_studies.c — creating, listing, reading and cancelling studies, their leaderboard and
 * predictions of their ensemble. The study driver (engine/srv_study.h) does the rest. */
#include "srv_api.h"

#include "nn_csv.h"
#include "nn_sha256.h"
#include "nn_study.h"
#include "srv_models.h"
#include "srv_studies.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

static void study_create_work(srv_req *req, srv_resp *resp);

void srv_api_study_create(srv_req *req, srv_resp *resp) {
    if (!srv_api_spec_size_ok(req, resp)) return;
    srv_defer(resp, study_create_work); /* parsing and planning: off the HTTP threads */
}

/* The body {"dataset", "study"}: the study parsed (problems at the study's pointers). */
static nn_status study_request(srv_req *req, srv_resp *resp, nn_study_spec **out,
                               char dataset[SRV_ID_LEN + 1]) {
    json_t *body = srv_api_json_body(req, resp);
    if (!body) return NN_ERR_PARSE;
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value) {
        if (strcmp(key, "study") != 0 && strcmp(key, "dataset") != 0)
            nn_spec_errors_add(&errs, "",
                               "unknown key \"%.64s\": the body holds \"study\" and "
                               "\"dataset\"",
                               key);
    }
    const json_t *ds = json_object_get(body, "dataset");
    const json_t *doc = json_object_get(body, "study");
    if (!json_is_string(ds) || strlen(json_string_value(ds)) != SRV_ID_LEN)
        nn_spec_errors_add(&errs, "/dataset",
                           ds ? "must be the id of an uploaded dataset" : "required");
    else
        (void)snprintf(dataset, SRV_ID_LEN + 1, "%s", json_string_value(ds));
    nn_status st = NN_ERR_SPEC;
    if (!json_is_object(doc))
        nn_spec_errors_add(&errs, "/study", doc ? "must be an object" : "required");
    else if (errs.n == 0)
        st = nn_study_from_json(doc, out, &errs);
    json_decref(body);
    if (st != NN_OK) srv_problem_plan(resp, st, &errs);
    return st;
}

/* A dataset of rows (of t) named name, stored like an upload (its content with its row: on
 * PostgreSQL every node can fetch it); its id into id. */
static nn_status put_rows(srv_store *s, const nn_table *t, const size_t *rows, size_t n,
                          const char *name, char id[SRV_ID_LEN + 1], nn_error *err) {
    nn_table *sub = NULL;
    nn_status st = nn_table_select_rows(t, rows, n, &sub, err);
    if (st != NN_OK) return st;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) st = nn_nomem(err, "out of memory");
    if (f && (st = nn_csv_write(f, sub, err)) == NN_OK && fflush(f) != 0)
        st = nn_error_set(err, NN_ERR_IO, "cannot write the rows");
    if (f) (void)fclose(f);
    srv_dataset ds;
    memset(&ds, 0, sizeof ds);
    char tmp[1500];
    if (st == NN_OK) {
        nn_sha256_hex(buf, len, ds.sha256);
        (void)snprintf(ds.name, sizeof ds.name, "%s", name);
        ds.rows = (int64_t)n;
        ds.bytes = (int64_t)len;
        ds.columns = srv_api_column_stats(sub);
        srv_dataset_path(s, ds.sha256, tmp, sizeof tmp - 16);
        size_t used = strlen(tmp);
        (void)snprintf(tmp + used, sizeof tmp - used, ".study-XXXXXX");
        int fd = mkstemp(tmp);
        FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
        int ok = out && fwrite(buf, 1, len, out) == len;
        if (out)
            ok &= fclose(out) == 0;
        else if (fd >= 0)
            (void)close(fd);
        if (!ok) {
            if (fd >= 0) (void)unlink(tmp);
            st = nn_error_set(err, NN_ERR_IO, "cannot store the rows of %s", name);
        }
    }
    nn_table_destroy(sub);
    int created = 0;
    if (st == NN_OK) st = srv_dataset_put_file(s, &ds, tmp, &created, err); /* consumes tmp */
    if (st == NN_OK) (void)snprintf(id, SRV_ID_LEN + 1, "%s", ds.id);
    srv_dataset_free(&ds);
    free(buf);
    return st;
}

/* Sets the holdout rows aside: row->dataset_id becomes a dataset of the rows searched and
 * row->holdout_id one of the rows set aside (the study seed's holdout stream). 0, or -1 with
 * the problem answered. */
static int split(srv_req *req, srv_resp *resp, srv_store *s, const nn_study_spec *spec,
                 srv_study *row) {
    srv_table_ref *ref = srv_api_table_or_answer(req, s, row->dataset_id, spec->spec, resp);
    if (!ref) return -1;
    nn_error err = {0};
    nn_status st = NN_OK;
    const nn_table *t = srv_table_ref_table(ref);
    unsigned char *mask = calloc(t->n_rows + 1, 1);
    size_t *rows = malloc((t->n_rows + 1) * sizeof *rows);
    size_t k = mask && rows ? nn_study_holdout_rows(spec->seed, spec->holdout, t->n_rows, mask) : 0;
    size_t a = 0, b = 0;
    for (size_t i = 0; k && i < t->n_rows; i++)
        if (!mask[i]) rows[a++] = i;
    for (size_t i = 0; k && i < t->n_rows; i++)
        if (mask[i]) rows[a + b++] = i;
    char name[SRV_MAX_DATASET_NAME + 1];
    if (!mask || !rows) {
        st = nn_nomem(&err, "out of memory");
    } else if (k == 0) {
        st = nn_error_set(&err, NN_ERR_INVALID, "/holdout: too few rows to set any aside");
    } else {
        (void)snprintf(name, sizeof name, "%.90s search", spec->name);
        st = put_rows(s, t, rows, a, name, row->dataset_id, &err);
        (void)snprintf(name, sizeof name, "%.90s holdout", spec->name);
        if (st == NN_OK) st = put_rows(s, t, rows + a, b, name, row->holdout_id, &err);
    }
    free(mask);
    free(rows);
    srv_tables_release(req->http->tables, ref);
    if (st == NN_OK) return 0;
    if (st == NN_ERR_INVALID)
        srv_problem(resp, 422, "%s", err.msg);
    else
        srv_problem_from(resp, &err);
    return -1;
}

static void study_create_work(srv_req *req, srv_resp *resp) {
    nn_study_spec *spec = NULL;
    char dataset[SRV_ID_LEN + 1] = "";
    if (study_request(req, resp, &spec, dataset) != NN_OK) return;
    srv_store *s = srv_api_store(req, resp);
    /* the base spec against the data: columns, plan, limits (problems at the spec's pointers) */
    json_t *planned = json_object();
    if (!s || !planned || srv_api_plan(req, s, dataset, spec->spec, planned, resp) != 0) {
        if (s && !planned) srv_problem_code(resp, NN_ERR_NOMEM, "out of memory");
        json_decref(planned);
        nn_study_spec_destroy(spec);
        return;
    }
    /* the objective against the base's task on this data: its default, or a problem at
       /objective/metric when it is the other task's */
    nn_task task = NN_TASK_REGRESSION;
    const char *task_name = json_string_value(json_object_get(planned, "task"));
    if (task_name) (void)nn_task_from_name(task_name, &task);
    json_decref(planned);
    nn_spec_errors errs;
    nn_status rt = nn_study_resolve_task(spec, task, &errs);
    if (rt != NN_OK) {
        if (rt == NN_ERR_SPEC)
            srv_problem_spec(resp, &errs, NULL);
        else
            srv_problem_code(resp, rt, "out of memory");
        nn_study_spec_destroy(spec);
        return;
    }
    srv_study row;
    memset(&row, 0, sizeof row);
    (void)snprintf(row.dataset_id, sizeof row.dataset_id, "%s", dataset);
    if (spec->holdout > 0 && split(req, resp, s, spec, &row) != 0) {
        nn_study_spec_destroy(spec);
        return;
    }
    row.name = spec->name;
    row.doc_json = spec->canonical;
    (void)snprintf(row.doc_hash, sizeof row.doc_hash, "%s", spec->hash);
    nn_error err = {0};
    nn_status st = srv_study_create(s, &row, &err);
    nn_study_spec_destroy(spec);
    if (st != NN_OK) {
        srv_problem_from(resp, &err);
        return;
    }
    (void)snprintf(resp->location, sizeof resp->location, "/v1/studies/%s", row.id);
    srv_json(resp, 202, json_pack("{s:s, s:s}", "id", row.id, "status", "running"));
    srv_engine_studies_wake(req->eng);
}

void srv_api_study_list(srv_req *req, srv_resp *resp) {
    srv_store *s = srv_api_store(req, resp);
    if (!s) return;
    json_t *list = NULL;
    nn_error err = {0};
    if (srv_study_list(s, &list, &err) != NN_OK) {
        srv_problem_from(resp, &err);
        return;
    }
    srv_json(resp, 200, json_pack("{s:o}", "studies", list));
}

/* The store and the study of the path's {id}; answers and returns NULL when either is missing. */
static srv_store *the_study(srv_req *req, srv_resp *resp, srv_study *row) {
    srv_store *s = srv_api_store(req, resp);
    if (!s) return NULL;
    nn_error err = {0};
    if (srv_study_get(s, req->param, row, &err) != NN_OK) {
        srv_problem_from(resp, &err);
        return NULL;
    }
    return s;
}

static json_t *parsed(const char *text) {
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

void srv_api_study_get(srv_req *req, srv_resp *resp) {
    srv_study row;
    if (!the_study(req, resp, &row)) return;
    json_t *doc = parsed(row.doc_json), *board = parsed(row.board_json);
    json_t *results = parsed(row.result_json), *state = parsed(row.state_json);
    json_t *budget =
        json_pack("{s:O, s:i, s:O}", "max_trials",
                  json_object_get(json_object_get(doc, "budget"), "max_trials"), "trials",
                  (int)json_array_size(board), "epoch_folds",
                  json_object_get(state, "epoch_folds") ? json_object_get(state, "epoch_folds")
                                                        : json_null());
    json_decref(state);
    json_t *o = json_pack(
        "{s:s, s:s, s:s?, s:s?, s:s, s:s?, s:b, s:I, s:o, s:o, s:o, s:o, s:o}", "id", row.id,
        "name", row.name, "dataset", row.dataset_id[0] ? row.dataset_id : NULL, "holdout_dataset",
        row.holdout_id[0] ? row.holdout_id : NULL, "status", row.status, "error", row.error,
        "cancel_requested", row.cancel_requested, "created_at", (json_int_t)row.created_at,
        "finished_at", row.finished_at ? json_integer((json_int_t)row.finished_at) : json_null(),
        "budget", budget ? budget : json_null(), "results", results, "leaderboard", board, "study",
        doc);
    srv_study_free(&row);
    if (!o)
        srv_problem_code(resp, NN_ERR_NOMEM, "out of memory");
    else
        srv_json(resp, 200, o);
}

void srv_api_study_leaderboard(srv_req *req, srv_resp *resp) {
    srv_study row;
    if (!the_study(req, resp, &row)) return;
    const char *format = srv_query(req, "format");
    int csv = format ? strcmp(format, "csv") == 0 : srv_accepts(req, "text/csv");
    if (format && !csv && strcmp(format, "json") != 0) {
        srv_study_free(&row);
        srv_problem(resp, 400, "format: csv or json");
        return;
    }
    char *text = csv ? row.board_csv : row.board_json;
    if (csv)
        row.board_csv = NULL;
    else
        row.board_json = NULL;
    srv_study_free(&row);
    if (!text) text = strdup(csv ? "" : "[]");
    if (!text) {
        srv_problem_code(resp, NN_ERR_NOMEM, "out of memory");
        return;
    }
    srv_text(resp, 200, csv ? "text/csv; charset=utf-8" : "application/json", text, strlen(text));
}

/* Which run trains or trained which rung of which trial: {"runs": [{"trial", "rung", "run",
 * "status", "folds"}]} in trial then rung order, numbered from 1 as the leaderboard and the events
 * number them; status and folds (its validation folds) are the run's, null when it was deleted.
 * A trial's rungs are prefixes of one run (each trained from scratch), so its last rung's history
 * is its whole validation curve: the dashboard draws every trial's from GET
 * /v1/runs/{id}/history. */
void srv_api_study_runs(srv_req *req, srv_resp *resp) {
    srv_study row;
    srv_store *s = the_study(req, resp, &row);
    if (!s) return;
    json_t *board = parsed(row.board_json);
    size_t n = json_array_size(board); /* every trial started, whatever its status */
    json_decref(board);
    json_t *list = json_array();
    nn_error err = {0};
    nn_status st = list ? NN_OK : nn_nomem(&err, "out of memory");
    for (size_t t = 0; st == NN_OK && t < n; t++) {
        for (int r = 0; st == NN_OK && r < NN_STUDY_MAX_RUNGS; r++) {
            char run_id[SRV_ID_LEN + 1];
            nn_status rc = srv_study_run_get(s, row.id, (int)t, r, run_id, &err);
            if (rc == NN_ERR_NOT_FOUND) break;
            if ((st = rc) != NN_OK) break;
            srv_run run;
            memset(&run, 0, sizeof run);
            rc = srv_run_get_text(s, run_id, &run, &err);
            json_t *o =
                json_pack("{s:i, s:i, s:s, s:s?, s:o}", "trial", (int)t + 1, "rung", r + 1, "run",
                          run_id, "status", rc == NN_OK ? srv_run_status_name(run.status) : NULL,
                          "folds", rc == NN_OK ? json_integer(run.n_folds) : json_null());
            srv_run_free(&run);
            if (rc != NN_OK && rc != NN_ERR_NOT_FOUND)
                st = rc;
            else if (!o || json_array_append(list, o) != 0)
                st = nn_nomem(&err, "out of memory");
            json_decref(o);
        }
    }
    srv_study_free(&row);
    if (st != NN_OK) {
        json_decref(list);
        srv_problem_from(resp, &err);
        return;
    }
    srv_json(resp, 200, json_pack("{s:o}", "runs", list));
    resp->no_store = 1;
}

void srv_api_study_cancel(srv_req *req, srv_resp *resp) {
    srv_study row;
    srv_store *s = the_study(req, resp, &row);
    if (!s) return;
    nn_error err = {0};
    int running = 0;
    if (srv_study_request_cancel(s, row.id, &running, &err) != NN_OK) {
        srv_study_free(&row);
        srv_problem_from(resp, &err);
        return;
    }
    if (!running) {
        srv_problem(resp, 409, "study %s has already ended (%s)", row.id, row.status);
        srv_study_free(&row);
        return;
    }
    srv_json(resp, 202, json_pack("{s:s, s:s}", "id", row.id, "status", "running"));
    srv_study_free(&row);
    srv_engine_studies_wake(req->eng);
}

/* The study's events, a stream like a run's: it stays open while the study runs. */
void srv_api_study_events(srv_req *req, srv_resp *resp) {
    srv_study row;
    srv_store *s = the_study(req, resp, &row);
    if (!s) return;
    srv_study_free(&row);
    srv_api_open_events(req, resp, SRV_STREAM_STUDY);
}

/* The ensemble as one model file: {"format": "nnd-weighted-model", "members": [{"weight",
 * "model"}]} with each member run's model (nn_model_create_weighted_take reads it). */
void srv_api_study_model(srv_req *req, srv_resp *resp) {
    srv_study row;
    srv_store *s = the_study(req, resp, &row);
    if (!s) return;
    json_t *results = parsed(row.result_json);
    const json_t *members = json_object_get(json_object_get(results, "ensemble"), "members");
    if (json_array_size(members) == 0) {
        srv_problem(resp, 409, "study %s has no ensemble (status %s)", row.id, row.status);
        json_decref(results);
        srv_study_free(&row);
        return;
    }
    srv_study_free(&row);
    json_t *list = json_array(), *targets = NULL;
    nn_error err = {0};
    size_t i;
    const json_t *mem;
    json_array_foreach(members, i, mem) {
        char *text = NULL;
        const char *run = json_string_value(json_object_get(mem, "run"));
        json_t *model = NULL;
        if (!list || srv_model_get(s, run ? run : "", &text, &err) != NN_OK ||
            !(model = json_loads(text, 0, NULL))) {
            free(text);
            json_decref(list);
            json_decref(results);
            if (!err.msg[0]) (void)nn_error_set(&err, NN_ERR_NOMEM, "out of memory");
            srv_problem_from(resp, &err);
            return;
        }
        free(text);
        if (!targets) targets = json_incref(json_object_get(model, "targets"));
        (void)json_array_append_new(
            list,
            json_pack("{s:O, s:o}", "weight", json_object_get(mem, "weight"), "model", model));
    }
    json_decref(results);
    srv_json(resp, 200,
             json_pack("{s:s, s:i, s:o, s:o}", "format", "nnd-weighted-model", "version", 1,
                       "targets", targets ? targets : json_array(), "members", list));
}

void srv_api_study_delete(srv_req *req, srv_resp *resp) {
    srv_store *s = srv_api_store(req, resp);
    if (!s) return;
    nn_error err = {0};
    if (srv_study_delete(s, req->param, &err) != NN_OK) {
        srv_problem_from(resp, &err);
        return;
    }
    srv_text(resp, 204, NULL, NULL, 0);
}

/* Predictions of the study's ensemble: each member's model predicts the rows, and the
 * predictions are averaged with the members' weights. */
void srv_api_study_predict(srv_req *req, srv_resp *resp) {
    srv_study row;
    srv_store *s = the_study(req, resp, &row);
    if (!s) return;
    json_t *results = parsed(row.result_json);
    const json_t *members = json_object_get(json_object_get(results, "ensemble"), "members");
    size_t m = json_array_size(members);
    if (m == 0 || m > NN_STUDY_MAX_TOP) {
        srv_problem(resp, 409, "study %s has no ensemble (status %s)", row.id, row.status);
        json_decref(results);
        srv_study_free(&row);
        return;
    }
    srv_study_free(&row);
    if (!req->body || req->body_len == 0) {
        json_decref(results);
        srv_problem(resp, 400,
                    "send rows as CSV (Content-Type: text/csv) or JSON {\"rows\": [...]}");
        return;
    }
    srv_models *models = srv_engine_models(req->eng);
    srv_model_ref *refs[NN_STUDY_MAX_TOP] = {0};
    nn_table *first = NULL;
    double *acc = NULL;
    size_t n = 0, nt = 0;
    nn_error err = {0};
    nn_status st = NN_OK;
    for (size_t j = 0; j < m && st == NN_OK; j++) {
        const json_t *mem = json_array_get(members, j);
        const char *run_id = json_string_value(json_object_get(mem, "run"));
        double w = json_number_value(json_object_get(mem, "weight"));
        st = srv_models_acquire(models, s, run_id ? run_id : "", &refs[j], &err);
        if (st != NN_OK) {
            srv_api_no_model(req, resp, s, &err);
            break;
        }
        nn_model *model = srv_model_ref_model(refs[j]);
        nn_table *t = NULL;
        double *pred = NULL;
        st = srv_api_predict_rows(req, model, &t, &err);
        if (st == NN_OK && t->n_rows > 0) st = srv_model_ref_predict(refs[j], t, &pred, &err);
        if (st == NN_OK && j == 0) {
            n = t->n_rows;
            nt = nn_model_n_values(model); /* targets, or a classification's classes */
            acc = calloc(n * nt + 1, sizeof *acc);
            if (!acc) st = nn_nomem(&err, "out of memory");
        } else if (st == NN_OK && (t->n_rows != n || nn_model_n_values(model) != nt)) {
            st = nn_error_set(&err, NN_ERR_INVALID, "the ensemble's models read the rows apart");
        }
        for (size_t i = 0; st == NN_OK && acc && pred && i < n * nt; i++) acc[i] += w * pred[i];
        free(pred);
        if (j == 0 && st == NN_OK)
            first = t;
        else
            nn_table_destroy(t);
        if (st != NN_OK) {
            if (err.code == NN_ERR_NOMEM || err.code == NN_ERR_IO)
                srv_problem_from(resp, &err);
            else
                srv_problem(resp, 422, "%s", err.msg);
        }
    }
    if (st == NN_OK) {
        srv_buf b = {0};
        int csv = srv_accepts(req, "text/csv");
        atomic_fetch_add(&req->ctx->counters.rows_predicted, (long long)n);
        srv_api_predict_answer(&b, csv, srv_model_ref_model(refs[0]), first, acc);
        if (b.failed) {
            srv_buf_free(&b);
            srv_problem_code(resp, NN_ERR_NOMEM, "out of memory");
        } else {
            srv_text(resp, 200, csv ? "text/csv; charset=utf-8" : "application/json", b.p, b.len);
        }
    }
    nn_table_destroy(first);
    free(acc);
    for (size_t j = 0; j < m; j++)
        if (refs[j]) srv_models_release(models, refs[j]);
    json_decref(results);
}
