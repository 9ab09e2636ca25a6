/* csv_ingest — how fast and in how much memory nn_csv reads a CSV file into a table.
 *
 *   csv_ingest FILE [--repeat N] [--text COLUMN] [--json]
 *
 * DESIGN: times nn_csv_read_file on FILE (best of `repeat` runs, default 1), one thread, and
 * reports MB/s of CSV bytes, the typed table's size — 8 bytes a number cell; for text, a pointer
 * a cell plus each string's malloc chunk (length + 1 rounded up to glibc's 16-byte chunks with
 * its 8-byte header, at least 32 bytes) — and the process's peak resident memory (getrusage)
 * over the whole run, with the ratio of the two. The file is read once beforehand so that it is
 * in the page cache (the goal is parsing speed, not the disk's). --text reads COLUMN as text (as
 * nn and nnd read a spec's id column).
 */
#include "nn_csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define MAX_REPEAT 20

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Reads the file through once (page cache); returns its size, or -1. */
static long warm(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    static char buf[1 << 16];
    long total = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) total += (long)n;
    (void)fclose(f);
    return total;
}

static double table_bytes(const nn_table *t) {
    double b = 0;
    for (size_t c = 0; c < t->n_cols; c++) {
        const nn_column *col = &t->cols[c];
        if (col->type == NN_COL_NUMBER) {
            b += 8.0 * (double)t->n_rows;
            continue;
        }
        b += 8.0 * (double)t->n_rows;
        for (size_t i = 0; i < t->n_rows; i++) {
            if (!col->text[i]) continue;
            size_t chunk = (strlen(col->text[i]) + 1 + 8 + 15) / 16 * 16;
            b += (double)(chunk < 32 ? 32 : chunk);
        }
    }
    return b;
}

int main(int argc, char **argv) {
    const char *path = NULL;
    int repeat = 1, json = 0;
    const char *text[2] = {NULL, NULL};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--text") == 0 && i + 1 < argc) {
            text[0] = argv[++i];
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = (int)strtol(argv[++i], NULL, 10);
        } else if (!path && argv[i][0] != '-') {
            path = argv[i];
        } else {
            path = NULL;
            break;
        }
    }
    if (!path || repeat < 1 || repeat > MAX_REPEAT) {
        (void)fprintf(stderr, "usage: csv_ingest FILE [--repeat N] [--text COLUMN] [--json]\n");
        return 2;
    }
    long bytes = warm(path);
    if (bytes < 0) {
        perror(path);
        return 1;
    }
    double best = 0, tbytes = 0;
    size_t rows = 0, cols = 0;
    for (int k = 0; k < repeat; k++) {
        nn_table *t = NULL;
        nn_error err = {0};
        double t0 = now();
        nn_csv_opts opts = {.text_columns = text};
        nn_status st = nn_csv_read_file(path, &opts, &t, &err);
        double dt = now() - t0;
        if (st != NN_OK) {
            (void)fprintf(stderr, "csv_ingest: %s\n", err.msg);
            return 1;
        }
        if (best == 0 || dt < best) best = dt;
        rows = t->n_rows;
        cols = t->n_cols;
        tbytes = table_bytes(t);
        nn_table_destroy(t);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double peak = (double)ru.ru_maxrss * 1024.0;
    double mbs = (double)bytes / 1e6 / best;
    if (json)
        printf(
            "{\"impl\": \"nnd\", \"bytes\": %ld, \"rows\": %zu, \"cols\": %zu, \"seconds\": %.4f, "
            "\"mb_per_s\": %.1f, \"table_bytes\": %.0f, \"peak_rss\": %.0f}\n",
            bytes, rows, cols, best, mbs, tbytes, peak);
    else
        printf(
            "nn_csv: %s: %ld bytes, %zu rows × %zu columns in %.3f s = %.1f MB/s; table %.1f MB, "
            "peak RSS %.1f MB (%.2f× the table)\n",
            path, bytes, rows, cols, best, mbs, tbytes / 1e6, peak / 1e6, peak / tbytes);
    return 0;
}
