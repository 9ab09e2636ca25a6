/* srv_api_data.c — datasets (upload, list, get, download, delete) and the handlers' shared
 * helpers. */
#include "srv_api.h"

#include "nn_csv.h"
#include "nn_pipe.h"
#include "nn_text.h"
#include "srv_tables.h"

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
    if (!s) srv_problem_code(resp, NN_ERR_UNAVAILABLE, "storage unavailable: %s", err.msg);
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

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *srv_api_column_stats(const nn_table *t) {
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

/* A dataset name is a label (srv_label_ok) without quotes, slashes or ".."; len is its decoded
 * length, which tells an embedded NUL ("a%00b") from the end. */
static int valid_name(const char *name, size_t len) {
    size_t n = strlen(name);
    if (n != len || n == 0 || n > SRV_MAX_DATASET_NAME || !srv_label_ok(name, n)) return 0;
    if (strstr(name, "..")) return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (strchr("/\\\"'`<>;", *p)) return 0;
    return 1;
}

static void upload_parse(srv_req *req, srv_resp *resp);

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
    srv_defer(resp, upload_parse); /* parsing may take seconds: off the HTTP threads */
}

/* On a work thread: parses the upload, stores the dataset and keeps the file. */
static void upload_parse(srv_req *req, srv_resp *resp) {
    size_t name_len = 0;
    const char *name = srv_query_n(req, "name", &name_len);
    if (!name) name = "dataset";
    srv_store *s = srv_api_store(req, resp);
    if (!s) return;
    nn_csv_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.name = "upload";
    nn_table *t = NULL;
    nn_error err = {0};
    if (nn_csv_read_file(req->upload_path, &opts, &t, &err) != NN_OK) {
        if (err.code == NN_ERR_NOMEM || err.code == NN_ERR_IO)
            srv_problem_from(resp, &err);
        else /* the content: malformed, or a field over the reader's cap */
            srv_problem(resp, 422, "%s", err.msg);
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
    for (int i = 0; i < 32; i++) (void)snprintf(ds.sha256 + (ptrdiff_t)2 * i, 3, "%02x", digest[i]);
    (void)snprintf(ds.name, sizeof ds.name, "%s", name);
    ds.rows = (int64_t)t->n_rows;
    ds.bytes = req->upload_bytes;
    ds.columns = srv_api_column_stats(t);
    nn_table_destroy(t);
    int created = 0;
    if (srv_dataset_put_file(s, &ds, req->upload_path, &created, &err) != NN_OK) {
        srv_dataset_free(&ds);
        srv_problem_from(resp, &err);
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
    nn_error err = {0};
    nn_status st = srv_dataset_file(s, ds.sha256, path, sizeof path, &err);
    srv_dataset_free(&ds);
    if (st != NN_OK) {
        srv_problem_from(resp, &err);
        return;
    }
    /* the descriptor keeps the file readable if the dataset is deleted while it is sent */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        int e = errno;
        char why[128];
        if (fd >= 0) close(fd);
        if (e == ENOENT) /* the file goes only with its dataset: deleted since it was read */
            srv_problem_code(resp, NN_ERR_NOT_FOUND, "dataset %s was deleted", req->param);
        else
            srv_problem_code(resp, NN_ERR_IO, "cannot read the dataset's file: %s",
                             strerror_r(e, why, sizeof why) == 0 ? why : "error");
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
    srv_tables_forget(req->http->tables, req->param); /* gone for every request from now on */
    srv_text(resp, 204, NULL, NULL, 0);
}
