/* srv_api_data.c — datasets (upload, list, get, download, delete) and spec validation. */
#include "srv_api.h"

#include "nn_csv.h"
#include "nn_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

srv_store *srv_api_store(srv_req *req, srv_resp *resp) {
    nn_error err = {0};
    srv_store *s = srv_ctx_store(req->ctx, &err);
    if (!s) srv_problem(resp, 503, "storage unavailable: %s", err.msg);
    return s;
}

srv_store *srv_api_run(srv_req *req, srv_resp *resp, srv_run *run) {
    memset(run, 0, sizeof *run);
    srv_store *s = srv_api_store(req, resp);
    if (!s) return NULL;
    nn_error err = {0};
    if (srv_run_get(s, req->param, run, &err) != NN_OK) {
        srv_problem_from(resp, &err);
        return NULL;
    }
    return s;
}

int srv_api_spec_size_ok(srv_req *req, srv_resp *resp) {
    if ((int64_t)req->body_len <= req->ctx->cfg.max_spec_bytes) return 1;
    srv_problem(resp, 413,
                "the spec request has %zu bytes, over the limit of %lld "
                "(--max-spec-bytes)",
                req->body_len, (long long)req->ctx->cfg.max_spec_bytes);
    return 0;
}

nn_status srv_api_check_params(int64_t max_params, const nn_spec *spec, const nn_plan *plan,
                               nn_spec_errors *errs) {
    int ensemble = spec->ensemble > 0 ? spec->ensemble : 1;
    uint64_t total = (uint64_t)plan->n_params * (uint64_t)ensemble;
    if (total <= (uint64_t)max_params) return NN_OK;
    if (ensemble > 1)
        nn_spec_errors_add(errs, "/network",
                           "the network has %zu parameters × ensemble %d = %llu, over the limit "
                           "of %lld (--max-params); use fewer or narrower layers",
                           plan->n_params, ensemble, (unsigned long long)total,
                           (long long)max_params);
    else
        nn_spec_errors_add(errs, "/network",
                           "the network has %zu parameters, over the limit of %lld "
                           "(--max-params); use fewer or narrower layers",
                           plan->n_params, (long long)max_params);
    return NN_ERR_SPEC;
}

json_t *srv_api_json_body(srv_req *req, srv_resp *resp) {
    if (!req->body || req->body_len == 0) {
        srv_problem(resp, 400, "the request needs a JSON body");
        return NULL;
    }
    json_error_t jerr;
    json_t *v = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        srv_problem(resp, 400, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                    jerr.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        srv_problem(resp, 400, "the body must be a JSON object");
        return NULL;
    }
    return v;
}

nn_status srv_api_load_table(srv_store *s, const char *dataset_id, const nn_spec *spec,
                             nn_table **out, nn_error *err) {
    srv_dataset ds;
    memset(&ds, 0, sizeof ds);
    nn_status st = srv_dataset_get(s, dataset_id, &ds, err);
    if (st != NN_OK) return st;
    char path[1400];
    srv_dataset_path(s, ds.sha256, path, sizeof path);
    srv_dataset_free(&ds);
    nn_csv_source src = {.path = path, .name = "dataset"};
    return spec ? nn_spec_read_csv(spec, &src, out, err) : nn_csv_read_source(&src, out, err);
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* Per-column summary: name, type, missing, and for numbers min, max, mean, sd (population). */
static json_t *column_stats(const nn_table *t) {
    json_t *cols = json_array();
    for (size_t c = 0; cols && c < t->n_cols; c++) {
        const nn_column *col = &t->cols[c];
        size_t missing = nn_table_missing(t, (int)c);
        json_t *o = json_pack("{s:s, s:s, s:I}", "name", col->name, "type",
                              col->type == NN_COL_NUMBER ? "number" : "text", "missing",
                              (json_int_t)missing);
        if (o && col->type == NN_COL_NUMBER) {
            double lo = INFINITY, hi = -INFINITY, sum = 0, sq = 0;
            size_t n = 0;
            for (size_t i = 0; i < t->n_rows; i++) {
                double v = col->num[i];
                if (isnan(v)) continue;
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
                sum += v;
                n++;
            }
            double mean = n ? sum / (double)n : NAN;
            for (size_t i = 0; i < t->n_rows; i++)
                if (!isnan(col->num[i])) sq += (col->num[i] - mean) * (col->num[i] - mean);
            json_object_set_new(o, "min", num(n ? lo : NAN));
            json_object_set_new(o, "max", num(n ? hi : NAN));
            json_object_set_new(o, "mean", num(mean));
            json_object_set_new(o, "sd", num(n ? sqrt(sq / (double)n) : NAN));
        }
        json_array_append_new(cols, o);
    }
    return cols;
}

static json_t *dataset_json(const srv_dataset *ds, int with_columns) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "id", ds->id, "name", ds->name,
                          "sha256", ds->sha256, "rows", (json_int_t)ds->rows, "bytes",
                          (json_int_t)ds->bytes, "created_at", (json_int_t)ds->created_at);
    if (o && with_columns && ds->columns) json_object_set(o, "columns", ds->columns);
    return o;
}

/* A dataset name is a label: printable UTF-8, no quotes, slashes or control characters; len is
 * its decoded length, which tells an embedded NUL ("a%00b") from the end. */
static int valid_name(const char *name, size_t len) {
    size_t n = strlen(name);
    if (n != len || n == 0 || n > SRV_MAX_DATASET_NAME) return 0;
    json_t *utf8 = json_string(name); /* NULL when name is not valid UTF-8 */
    if (!utf8) return 0;
    json_decref(utf8);
    if (strstr(name, "..")) return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || strchr("/\\\"'`<>;", *p)) return 0;
    return 1;
}

void srv_api_dataset_upload(srv_req *req, srv_resp *resp) {
    size_t name_len = 0;
    const char *name = srv_query_n(req, "name", &name_len);
    if (!name) name = "dataset", name_len = strlen(name);
    if (!valid_name(name, name_len)) {
        srv_problem(resp, 400,
                    "name: 1 to %d printable characters without quotes, slashes, "
                    "\"..\" or control characters",
                    SRV_MAX_DATASET_NAME);
        return;
    }
    if (req->upload_fd < 0 || req->upload_bytes == 0) {
        srv_problem(resp, 422, "the body is empty: send the CSV file as the request body");
        return;
    }
    srv_store *s = srv_api_store(req, resp);
    if (!s) return;
    nn_csv_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.name = "upload";
    nn_table *t = NULL;
    nn_error err = {0};
    if (nn_csv_read_file(req->upload_path, &opts, &t, &err) != NN_OK) {
        srv_problem(resp, err.code == NN_ERR_IO ? 500 : 422, "%s", err.msg);
        return;
    }
    if (t->n_rows == 0) {
        nn_table_destroy(t);
        srv_problem(resp, 422, "upload: the CSV has a header but no data rows");
        return;
    }
    unsigned char digest[32];
    nn_sha256_final(&req->upload_sha, digest);
    srv_dataset ds;
    memset(&ds, 0, sizeof ds);
    for (int i = 0; i < 32; i++) (void)snprintf(ds.sha256 + 2 * i, 3, "%02x", digest[i]);
    (void)snprintf(ds.name, sizeof ds.name, "%s", name);
    ds.rows = (int64_t)t->n_rows;
    ds.bytes = req->upload_bytes;
    ds.columns = column_stats(t);
    nn_table_destroy(t);
    int created = 0;
    if (srv_dataset_put(s, &ds, &created, &err) != NN_OK) {
        srv_dataset_free(&ds);
        srv_problem_from(resp, &err);
        return;
    }
    char path[1400];
    srv_dataset_path(s, ds.sha256, path, sizeof path);
    struct stat sb;
    if (stat(path, &sb) != 0 && rename(req->upload_path, path) != 0) {
        int e = errno;
        (void)srv_dataset_delete(s, ds.id, &err);
        srv_dataset_free(&ds);
        srv_problem(resp, e == ENOSPC ? 507 : 500, "cannot keep the upload: %s", strerror(e));
        return;
    }
    (void)snprintf(resp->location, sizeof resp->location, "/v1/datasets/%s", ds.id);
    srv_json(resp, created ? 201 : 200, dataset_json(&ds, 1));
    srv_dataset_free(&ds);
}

void srv_api_dataset_list(srv_req *req, srv_resp *resp) {
    srv_store *s = srv_api_store(req, resp);
    if (!s) return;
    json_t *list = NULL;
    nn_error err = {0};
    if (srv_dataset_list(s, &list, &err) != NN_OK) {
        srv_problem_from(resp, &err);
        return;
    }
    srv_json(resp, 200, json_pack("{s:o}", "datasets", list));
}

/* The store and the dataset named by the path's {id} in *ds (free with srv_dataset_free);
 * answers 404/503 and returns NULL when either is missing. */
static srv_store *path_dataset(srv_req *req, srv_resp *resp, srv_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    srv_store *s = srv_api_store(req, resp);
    if (!s) return NULL;
    nn_error err = {0};
    if (srv_dataset_get(s, req->param, ds, &err) != NN_OK) {
        srv_problem_from(resp, &err);
        return NULL;
    }
    return s;
}

void srv_api_dataset_get(srv_req *req, srv_resp *resp) {
    srv_dataset ds;
    if (!path_dataset(req, resp, &ds)) return;
    srv_json(resp, 200, dataset_json(&ds, 1));
    srv_dataset_free(&ds);
}

void srv_api_dataset_csv(srv_req *req, srv_resp *resp) {
    srv_dataset ds;
    srv_store *s = path_dataset(req, resp, &ds);
    if (!s) return;
    char path[1400];
    srv_dataset_path(s, ds.sha256, path, sizeof path);
    srv_dataset_free(&ds);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0) close(fd);
        srv_problem(resp, 500, "the dataset's file is missing");
        return;
    }
    resp->status = 200;
    resp->content_type = "text/csv; charset=utf-8";
    resp->fd = fd;
    resp->fd_size = sb.st_size;
}

void srv_api_dataset_delete(srv_req *req, srv_resp *resp) {
    srv_store *s = srv_api_store(req, resp);
    if (!s) return;
    nn_error err = {0};
    if (srv_dataset_delete(s, req->param, &err) != NN_OK) {
        srv_problem_from(resp, &err);
        return;
    }
    srv_text(resp, 204, NULL, NULL, 0);
}

/* Plans spec on the dataset; answers 422 with every problem, or fills the plan fields. */
static int plan_on_dataset(srv_store *s, const char *dataset, const nn_spec *spec,
                           int64_t max_params, json_t *out, srv_resp *resp) {
    nn_table *t = NULL;
    nn_error err = {0};
    if (srv_api_load_table(s, dataset, spec, &t, &err) != NN_OK) {
        if (strstr(err.msg, "not found")) {
            nn_spec_errors errs;
            memset(&errs, 0, sizeof errs);
            nn_spec_errors_add(&errs, "/dataset", "no dataset \"%s\"", dataset);
            srv_problem_spec(resp, &errs, NULL);
        } else {
            srv_problem_from(resp, &err);
        }
        return -1;
    }
    nn_plan *plan = NULL;
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    if (nn_pipe_plan(spec, t, &plan, &errs) != NN_OK ||
        srv_api_check_params(max_params, spec, plan, &errs) != NN_OK) {
        nn_plan_destroy(plan);
        nn_table_destroy(t);
        srv_problem_spec(resp, &errs, NULL);
        return -1;
    }
    json_t *features = json_array();
    for (size_t i = 0; i < plan->n_features; i++)
        json_array_append_new(features, json_string(plan->features[i]));
    json_object_set_new(out, "features", features);
    json_object_set_new(out, "input_width", json_integer((json_int_t)plan->n_features));
    json_object_set_new(out, "parameters", json_integer((json_int_t)plan->n_params));
    json_object_set_new(out, "rows", json_integer((json_int_t)t->n_rows));
    json_object_set_new(out, "rows_skipped", json_integer((json_int_t)plan->n_skipped));
    json_object_set_new(out, "task", json_string(nn_task_name(plan->task)));
    const nn_labels *l = plan->labels;
    json_t *classes = l ? json_array() : NULL;
    for (size_t c = 0; classes && c < l->n; c++)
        json_array_append_new(classes, json_pack("{s:s, s:I}", "label", l->names[c], "rows",
                                                 (json_int_t)l->counts[c]));
    if (classes) json_object_set_new(out, "classes", classes);
    if (l && l->n == 2) json_object_set_new(out, "positive", json_string(l->names[l->positive]));
    nn_plan_destroy(plan);
    nn_table_destroy(t);
    return 0;
}

void srv_api_spec_validate(srv_req *req, srv_resp *resp) {
    if (!srv_api_spec_size_ok(req, resp)) return;
    json_t *body = srv_api_json_body(req, resp);
    if (!body) return;
    json_t *spec_json = json_object_get(body, "spec");
    /* copied: body is freed before the dataset is planned */
    const char *ds_value = json_string_value(json_object_get(body, "dataset"));
    char *dataset = ds_value ? strdup(ds_value) : NULL;
    if (ds_value && !dataset) {
        json_decref(body);
        srv_problem(resp, 500, "out of memory");
        return;
    }
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    nn_spec *spec = NULL;
    if (!spec_json)
        nn_spec_errors_add(&errs, "/spec", "required");
    else
        (void)nn_spec_from_json(spec_json, &spec, &errs);
    json_decref(body);
    if (!spec) {
        free(dataset);
        srv_problem_spec(resp, &errs, NULL);
        return;
    }
    json_t *out = json_pack("{s:b, s:s, s:s, s:o}", "valid", 1, "name", spec->name, "hash",
                            spec->hash, "canonical", nn_spec_to_json(spec));
    int rc = 0;
    if (dataset) {
        srv_store *s = srv_api_store(req, resp);
        rc = s ? plan_on_dataset(s, dataset, spec, req->ctx->cfg.max_params, out, resp) : -1;
    }
    nn_spec_destroy(spec);
    free(dataset);
    if (rc == 0)
        srv_json(resp, 200, out);
    else
        json_decref(out);
}
