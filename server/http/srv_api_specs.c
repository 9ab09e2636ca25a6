/* srv_api_specs.c — spec requests: the body of POST /v1/specs/validate and POST /v1/runs
 * ({"spec": {...}, "dataset": "<id>"}) parsed and checked, the spec planned on the dataset's
 * cached table, and the validate handler.
 *
 * Everything knowable at the request is checked there, so a run is not accepted with 202 only
 * to fail in the worker: the envelope's keys (an unknown one, e.g. "datset", would otherwise
 * validate the spec against no dataset and say it is valid), the spec (nn_spec_parse), the
 * run's name (printable text, as dataset names), the dataset, the plan (nn_pipe_plan: columns,
 * values, and the checks that need the number of rows — k folds on fewer rows, a holdout that
 * leaves no training row) and the network's size (--max-params).
 */
#include "srv_api.h"

#include "nn_text.h"
#include "srv_tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int srv_api_spec_size_ok(srv_req *req, srv_resp *resp) {
    if ((int64_t)req->body_len <= req->ctx->cfg.max_spec_bytes) return 1;
    srv_problem(resp, 413,
                "the spec request has %zu bytes, over the limit of %lld "
                "(--max-spec-bytes)",
                req->body_len, (long long)req->ctx->cfg.max_spec_bytes);
    return 0;
}

void srv_api_json_error(const json_error_t *jerr, char *out, size_t size) {
    if (json_error_code(jerr) == json_error_null_character)
        (void)snprintf(out, size,
                       "invalid JSON at line %d, column %d: a string holds \\u0000 (a NUL "
                       "character), which nnd does not accept",
                       jerr->line, jerr->column);
    else
        (void)snprintf(out, size, "invalid JSON at line %d, column %d: %s", jerr->line,
                       jerr->column, jerr->text);
}

json_t *srv_api_json_body(srv_req *req, srv_resp *resp) {
    if (!req->body || req->body_len == 0) {
        srv_problem(resp, 400, "the request needs a JSON body");
        return NULL;
    }
    json_error_t jerr;
    json_t *v = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v) {
        char why[300];
        srv_api_json_error(&jerr, why, sizeof why);
        srv_problem(resp, 400, "%s", why);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        srv_problem(resp, 400, "the body must be a JSON object");
        return NULL;
    }
    return v;
}

static const char *const envelope_keys[] = {"spec", "dataset"};

static const char *envelope_key_at(const void *items, size_t i) {
    return ((const char *const *)items)[i];
}

/* "/key" with "~" and "/" escaped (RFC 6901), cut to size. */
static void key_pointer(const char *key, char *out, size_t size) {
    size_t o = 0;
    if (size) out[o++] = '/';
    for (const char *k = key; *k && o + 3 < size; k++) {
        if (*k == '~' || *k == '/') {
            out[o++] = '~';
            out[o++] = *k == '~' ? '0' : '1';
        } else {
            out[o++] = *k;
        }
    }
    out[o < size ? o : size - 1] = '\0';
}

nn_status srv_api_spec_request(srv_req *req, srv_resp *resp, int need_dataset, nn_spec **spec,
                               char **dataset) {
    *spec = NULL;
    *dataset = NULL;
    if (!srv_api_spec_size_ok(req, resp)) return NN_ERR_LIMIT;
    json_t *body = srv_api_json_body(req, resp);
    if (!body) return NN_ERR_PARSE;
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value) {
        if (!strcmp(key, "spec") || !strcmp(key, "dataset")) continue;
        char ptr[128];
        key_pointer(key, ptr, sizeof ptr);
        long near = nn_closest(key, envelope_keys, 2, envelope_key_at);
        if (near >= 0)
            nn_spec_errors_add(&errs, ptr, "unknown key (did you mean \"%s\"?)",
                               envelope_keys[near]);
        else
            nn_spec_errors_add(&errs, ptr, "unknown key: the body holds \"spec\" and \"dataset\"");
    }
    json_t *spec_json = json_object_get(body, "spec");
    json_t *ds = json_object_get(body, "dataset");
    if (ds && !json_is_string(ds))
        nn_spec_errors_add(&errs, "/dataset", "must be a string: the id of an uploaded dataset");
    else if (!ds && need_dataset)
        nn_spec_errors_add(&errs, "/dataset", "required: the id of an uploaded dataset");
    if (!json_is_object(spec_json))
        nn_spec_errors_add(&errs, "/spec", spec_json ? "must be an object" : "required");
    nn_status st = NN_ERR_SPEC;
    if (errs.n == 0) st = nn_spec_from_json(spec_json, spec, &errs);
    if (st == NN_OK && !srv_label_ok((*spec)->name, strlen((*spec)->name))) {
        nn_spec_errors_add(&errs, "/name",
                           "printable text without control, bidirectional or line-separator "
                           "characters");
        st = NN_ERR_SPEC;
    }
    if (st == NN_OK && ds && !(*dataset = strdup(json_string_value(ds)))) st = NN_ERR_NOMEM;
    json_decref(body);
    if (st != NN_OK) {
        nn_spec_destroy(*spec);
        *spec = NULL;
        if (st == NN_ERR_NOMEM && errs.n == 0) nn_spec_errors_add(&errs, "", "out of memory");
        srv_problem_plan(resp, st, &errs);
    }
    return st;
}

nn_status srv_api_table(srv_req *req, srv_store *s, const char *dataset_id, const nn_spec *spec,
                        nn_spec_errors *errs, srv_table_ref **out, nn_error *err) {
    /* unknown columns (text_columns, id, steps) are the plan's to report, at their pointers */
    nn_status st = srv_tables_acquire(req->http->tables, s, dataset_id, spec, out, err);
    if (st == NN_ERR_NOT_FOUND) { /* no such dataset, or deleted meanwhile */
        nn_spec_errors_add(errs, "/dataset", "no dataset \"%s\"", dataset_id);
        return NN_ERR_SPEC;
    }
    return st;
}

/* The plan's task, and a classification's classes with their rows and its positive class. */
static void plan_task(json_t *out, const nn_plan *plan) {
    json_object_set_new(out, "task", json_string(nn_task_name(plan->task)));
    const nn_labels *l = plan->labels;
    json_t *classes = l ? json_array() : NULL;
    for (size_t c = 0; classes && c < l->n; c++)
        json_array_append_new(classes, json_pack("{s:s, s:I}", "label", l->names[c], "rows",
                                                 (json_int_t)l->counts[c]));
    if (classes) json_object_set_new(out, "classes", classes);
    if (l && l->n == 2) json_object_set_new(out, "positive", json_string(l->names[l->positive]));
}

/* Adds an error at /network and returns NN_ERR_SPEC when the planned network's parameters ×
 * ensemble exceed max_params (--max-params). */
static nn_status check_params(int64_t max_params, const nn_spec *spec, const nn_plan *plan,
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

srv_table_ref *srv_api_table_or_answer(srv_req *req, srv_store *s, const char *dataset,
                                       const nn_spec *spec, srv_resp *resp) {
    srv_table_ref *ref = NULL;
    nn_error err = {0};
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    nn_status st = srv_api_table(req, s, dataset, spec, &errs, &ref, &err);
    if (st == NN_ERR_SPEC)
        srv_problem_spec(resp, &errs, NULL);
    else if (st != NN_OK)
        srv_problem_from(resp, &err);
    return st == NN_OK ? ref : NULL;
}

int srv_api_plan(srv_req *req, srv_store *s, const char *dataset, const nn_spec *spec, json_t *out,
                 srv_resp *resp) {
    srv_table_ref *ref = srv_api_table_or_answer(req, s, dataset, spec, resp);
    if (!ref) return -1;
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    const nn_table *t = srv_table_ref_table(ref);
    nn_plan *plan = NULL;
    nn_status st = nn_pipe_plan(spec, t, &plan, &errs);
    if (st == NN_OK) st = check_params(req->ctx->cfg.max_params, spec, plan, &errs);
    if (st == NN_OK && out) {
        json_t *features = json_array();
        for (size_t i = 0; i < plan->n_features; i++)
            json_array_append_new(features, json_string(plan->features[i]));
        json_object_set_new(out, "features", features);
        json_object_set_new(out, "input_width", json_integer((json_int_t)plan->n_features));
        json_object_set_new(out, "parameters", json_integer((json_int_t)plan->n_params));
        json_object_set_new(out, "rows", json_integer((json_int_t)t->n_rows));
        json_object_set_new(out, "rows_skipped", json_integer((json_int_t)plan->n_skipped));
        plan_task(out, plan);
    }
    nn_plan_destroy(plan);
    srv_tables_release(req->http->tables, ref);
    if (st != NN_OK) {
        srv_problem_plan(resp, st, &errs);
        return -1;
    }
    return 0;
}

static void validate_work(srv_req *req, srv_resp *resp);

void srv_api_spec_validate(srv_req *req, srv_resp *resp) {
    if (!srv_api_spec_size_ok(req, resp)) return;
    srv_defer(resp, validate_work); /* parsing and planning: off the HTTP threads */
}

/* On a work thread: the spec, and its plan on the dataset when one is named. */
static void validate_work(srv_req *req, srv_resp *resp) {
    nn_spec *spec = NULL;
    char *dataset = NULL;
    if (srv_api_spec_request(req, resp, 0, &spec, &dataset) != NN_OK) return;
    json_t *out = json_pack("{s:b, s:s, s:s, s:o}", "valid", 1, "name", spec->name, "hash",
                            spec->hash, "canonical", nn_spec_to_json(spec));
    int rc = out ? 0 : -1;
    if (!out) srv_problem_code(resp, NN_ERR_NOMEM, "out of memory");
    if (out && dataset) {
        srv_store *s = srv_api_store(req, resp);
        rc = s ? srv_api_plan(req, s, dataset, spec, out, resp) : -1;
    }
    nn_spec_destroy(spec);
    free(dataset);
    if (rc == 0)
        srv_json(resp, 200, out);
    else
        json_decref(out);
}
