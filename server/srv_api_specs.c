/* srv_api_specs.c — spec requests: the body of POST /v1/specs/validate and POST /v1/runs
 * ({"spec": {...}, "dataset": "<id>"}) parsed and checked, the spec planned on the dataset's
 * cached table, and the validate handler.
 *
 * Everything knowable at the request is checked there, so a run is not accepted with 202 only
 * to fail in the worker: the envelope's keys (an unknown one, e.g. "datset", would otherwise
 * validate the spec against no dataset and say it is valid), the spec (nn_spec_parse), the
 * run's name (printable text, as dataset names), the dataset and its columns named by
 * text_columns and id, the plan (nn_pipe_plan), the network's size (--max-params) and the
 * checks that need the number of rows (nn_cv_check: k folds on fewer rows, a holdout that
 * leaves no training row, best_fold without validation).
 */
#include "srv_api.h"

#include "nn_cv.h"
#include "nn_text.h"
#include "srv_tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int srv_api_spec_size_ok(srv_req *req, srv_resp *resp) {
    if ((int64_t)req->body_len <= req->app->cfg.max_spec_bytes) return 1;
    srv_problem(resp, 413,
                "the spec request has %zu bytes, over the limit of %lld "
                "(--max-spec-bytes)",
                req->body_len, (long long)req->app->cfg.max_spec_bytes);
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

/* The UTF-8 sequence at p (n bytes left): its code point and length, or length 0 if invalid. */
static size_t utf8_next(const unsigned char *p, size_t n, unsigned *cp) {
    size_t len = p[0] < 0x80             ? 1
                 : (p[0] & 0xE0) == 0xC0 ? 2
                 : (p[0] & 0xF0) == 0xE0 ? 3
                 : (p[0] & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (len == 0 || len > n) return 0;
    unsigned v = len == 1 ? p[0] : len == 2 ? p[0] & 0x1Fu : len == 3 ? p[0] & 0x0Fu : p[0] & 7u;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (p[i] & 0x3Fu);
    }
    static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000}; /* overlong forms are invalid */
    if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

int srv_label_ok(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned cp = 0;
        size_t n = utf8_next(p + i, len - i, &cp);
        if (n == 0) return 0;
        /* controls (C0, DEL, C1), bidirectional overrides and isolates, line and paragraph
           separators, the byte order mark: none belongs in a name shown to people */
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200E || cp == 0x200F ||
            (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 ||
            cp == 0x2029 || cp == 0xFEFF)
            return 0;
        i += n;
    }
    return 1;
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
    if (errs.n == 0) {
        char *text = json_dumps(spec_json, JSON_COMPACT | JSON_REAL_PRECISION(17));
        st = text ? nn_spec_parse(text, strlen(text), spec, &errs) : NN_ERR_NOMEM;
        free(text);
    }
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

static const char *column_name_at(const void *items, size_t i) {
    return json_string_value(json_object_get(json_array_get((const json_t *)items, i), "name"));
}

/* Adds an error at pointer unless name is a column of ds (with the closest name, if any). */
static void check_column(const srv_dataset *ds, const char *name, const char *pointer,
                         nn_spec_errors *errs) {
    for (size_t i = 0; i < json_array_size(ds->columns); i++)
        if (!strcmp(column_name_at(ds->columns, i), name)) return;
    long near = nn_closest(name, ds->columns, json_array_size(ds->columns), column_name_at);
    if (near >= 0)
        nn_spec_errors_add(errs, pointer, "no column \"%s\" (did you mean \"%s\"?)", name,
                           column_name_at(ds->columns, (size_t)near));
    else
        nn_spec_errors_add(errs, pointer, "no column \"%s\"", name);
}

nn_status srv_api_table(srv_req *req, srv_store *s, const char *dataset_id, const nn_spec *spec,
                        nn_spec_errors *errs, srv_table_ref **out, nn_error *err) {
    srv_dataset ds;
    memset(&ds, 0, sizeof ds);
    nn_status st = srv_dataset_get(s, dataset_id, &ds, err);
    if (st == NN_ERR_NOT_FOUND) {
        nn_spec_errors_add(errs, "/dataset", "no dataset \"%s\"", dataset_id);
        return NN_ERR_SPEC;
    }
    if (st != NN_OK) return st;
    /* the reader refuses a text column the file lacks; say where, as the plan does for others */
    char ptr[64];
    for (size_t i = 0; spec && i < spec->n_text_columns; i++) {
        (void)snprintf(ptr, sizeof ptr, "/text_columns/%zu", i);
        check_column(&ds, spec->text_columns[i], ptr, errs);
    }
    if (spec && spec->id) check_column(&ds, spec->id, "/id", errs);
    srv_dataset_free(&ds);
    if (errs->n) return NN_ERR_SPEC;
    const char *text[NN_SPEC_MAX_ERRORS + 2];
    size_t n = 0;
    for (size_t i = 0; spec && i < spec->n_text_columns && n < NN_SPEC_MAX_ERRORS; i++)
        text[n++] = spec->text_columns[i];
    if (spec && spec->id) text[n++] = spec->id;
    text[n] = NULL;
    st = srv_tables_acquire(req->app->tables, s, dataset_id, text, out, err);
    if (st == NN_ERR_NOT_FOUND) { /* deleted since it was looked up */
        nn_spec_errors_add(errs, "/dataset", "no dataset \"%s\"", dataset_id);
        return NN_ERR_SPEC;
    }
    return st;
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

int srv_api_plan(srv_req *req, srv_store *s, const char *dataset, const nn_spec *spec, json_t *out,
                 srv_resp *resp) {
    srv_table_ref *ref = NULL;
    nn_error err = {0};
    nn_spec_errors errs;
    memset(&errs, 0, sizeof errs);
    nn_status st = srv_api_table(req, s, dataset, spec, &errs, &ref, &err);
    if (st != NN_OK) {
        if (st == NN_ERR_SPEC)
            srv_problem_spec(resp, &errs, NULL);
        else
            srv_problem_from(resp, &err);
        return -1;
    }
    const nn_table *t = srv_table_ref_table(ref);
    nn_plan *plan = NULL;
    st = nn_pipe_plan(spec, t, &plan, &errs);
    if (st == NN_OK) st = check_params(req->app->cfg.max_params, spec, plan, &errs);
    if (st == NN_OK) st = nn_cv_check(spec, t->n_rows, &errs);
    if (st == NN_OK && out) {
        json_t *features = json_array();
        for (size_t i = 0; i < plan->n_features; i++)
            json_array_append_new(features, json_string(plan->features[i]));
        json_object_set_new(out, "features", features);
        json_object_set_new(out, "input_width", json_integer((json_int_t)plan->n_features));
        json_object_set_new(out, "parameters", json_integer((json_int_t)plan->n_params));
        json_object_set_new(out, "rows", json_integer((json_int_t)t->n_rows));
    }
    nn_plan_destroy(plan);
    srv_tables_release(req->app->tables, ref);
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
    json_error_t jerr;
    json_t *out = json_pack("{s:b, s:s, s:s, s:o}", "valid", 1, "name", spec->name, "hash",
                            spec->hash, "canonical", json_loads(spec->canonical, 0, &jerr));
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
