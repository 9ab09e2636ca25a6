/* nn_csv_source.c — reading a CSV with columns forced to text where the header has them.
 *
 * DESIGN: the CSV reader (nn_csv.c) refuses a forced text column the header lacks, which is
 * right for a training file but wrong for rows to predict, where the id, the targets and the
 * columns a pipeline drops may be absent. So the header is read first: the bytes of the first
 * record (a quote-aware scan for the line break that ends it, so quoted names with commas or
 * line breaks are whole) go through the same reader as a header-only CSV, which yields the names
 * exactly as the full read will (BOM, quotes, UTF-8 checks alike). The forced list is cut down
 * to those names and the whole input is read once. Only the first record is read twice. */
#include "nn_csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the prefix of buf[0..len) that ends the first non-empty record (its line break
 * included), or len when the record does not end in buf. */
static size_t first_record(const char *buf, size_t len) {
    int quoted = 0, content = 0;
    size_t start = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0; /* a BOM */
    for (size_t i = start; i < len; i++) {
        char c = buf[i];
        if (c == '"') quoted = !quoted;
        if (!quoted && c == '\n') {
            if (content) return i + 1;
            continue; /* an empty line before the header: the reader skips it too */
        }
        if (c != '\r') content = 1;
    }
    return len;
}

/* Reads the start of the file at path until its first record ends (or EOF, or the cap) into a
 * malloc'd *out of *n bytes. */
static nn_status file_prefix(const char *path, char **out, size_t *n, nn_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        char why[128];
        int e = errno;
        if (strerror_r(e, why, sizeof why) != 0) (void)snprintf(why, sizeof why, "error %d", e);
        return nn_error_set(err, NN_ERR_IO, "cannot open %s: %s", path, why);
    }
    size_t cap = NN_CSV_CHUNK, len = 0;
    char *buf = malloc(cap);
    nn_status st = buf ? NN_OK : nn_nomem(err, "out of memory reading a CSV header");
    while (st == NN_OK) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (ferror(f)) st = nn_error_set(err, NN_ERR_IO, "cannot read %s", path);
        if (st != NN_OK || got == 0 || first_record(buf, len) < len || cap >= NN_CSV_MAX_HEADER)
            break;
        if (len == cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown)
                st = nn_error_set(err, NN_ERR_NOMEM, "out of memory reading %s", path);
            else
                buf = grown, cap *= 2;
        }
    }
    (void)fclose(f);
    if (st != NN_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *n = len;
    return NN_OK;
}

nn_status nn_csv_read_header(const nn_csv_source *src, nn_table **out, nn_error *err) {
    char *file = NULL;
    const char *buf = src->buf;
    size_t len = src->len;
    if (src->path) {
        nn_status st = file_prefix(src->path, &file, &len, err);
        if (st != NN_OK) return st;
        buf = file;
    }
    nn_csv_opts opts;
    memset(&opts, 0, sizeof opts);
    if (src->opts) opts = *src->opts;
    opts.name = src->name ? src->name : src->path;
    opts.text_columns = NULL;
    nn_status st =
        nn_csv_read_mem(buf ? buf : "", buf ? first_record(buf, len) : 0, &opts, out, err);
    free(file);
    return st;
}

nn_status nn_csv_read_source(const nn_csv_source *src, nn_table **out, nn_error *err) {
    nn_csv_opts opts;
    memset(&opts, 0, sizeof opts);
    if (src->opts) opts = *src->opts;
    opts.name = src->name;
    opts.text_columns = NULL;
    const char **text = NULL;
    nn_status st = NN_OK;
    if (src->text && src->text[0]) {
        nn_table *head = NULL;
        st = nn_csv_read_header(src, &head, err);
        size_t n = 0;
        while (src->text[n]) n++;
        if (st == NN_OK && !(text = calloc(n + 1, sizeof *text)))
            st = nn_nomem(err, "out of memory reading a CSV");
        for (size_t i = 0, k = 0; st == NN_OK && i < n; i++)
            if (nn_table_find(head, src->text[i]) >= 0) text[k++] = src->text[i];
        nn_table_destroy(head);
        opts.text_columns = text;
    }
    if (st == NN_OK)
        st = src->path ? nn_csv_read_file(src->path, &opts, out, err)
                       : nn_csv_read_mem(src->buf ? src->buf : "", src->buf ? src->len : 0, &opts,
                                         out, err);
    free(text);
    return st;
}
