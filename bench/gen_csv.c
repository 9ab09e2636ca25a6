/* gen_csv — writes a synthetic tabular CSV for the ingest and scale benchmarks.
 *
 *   gen_csv --rows N [--max-bytes B] [--seed S] [--out FILE]
 *
 * DESIGN: 22 columns, about 174 bytes a row (1M rows ≈ 174 MB), drawn from an nn_rng stream so
 * that the same (rows, seed) always gives the same bytes:
 *   id        1..N
 *   x01..x19  numbers written the way real exports write them: small counts (3), sizes (1180),
 *             prices (221900), 2- and 4-decimal values (47.51, -122.2570), 17-digit doubles
 *             (0.13248109843410522), scientific notation (4.512e-03), signed values, and 1 % of
 *             empty fields (missing) in x07
 *   y         a smooth function of some x plus noise, %.6g
 *   city      one of 40 words (text)
 * so 20 numeric columns besides the id, and one text column. Missing values are confined to x07,
 * so a spec can impute it and train on everything else (bench/scale_spec.json). --max-bytes stops
 * before the row that would make the file longer than B bytes (e.g. nnd's 256 MiB upload limit).
 */
#include "nn_rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_X 19
#define MAX_ROWS 100000000L
#define OUT_BUFFER (1 << 20)

static const char *const cities[] = {
    "Seattle",    "Renton",     "Bellevue",   "Kent",      "Redmond",    "Kirkland",      "Auburn",
    "Sammamish",  "Federal",    "Issaquah",   "Maple",     "Burien",     "Woodinville",   "Kenmore",
    "Snoqualmie", "Bothell",    "Enumclaw",   "Mercer",    "Shoreline",  "Duvall",        "Vashon",
    "Tukwila",    "Covington",  "Newcastle",  "Carnation", "Fall City",  "Black Diamond", "Medina",
    "Ravensdale", "Clyde Hill", "Yarrow",     "Skykomish", "Hunts",      "Milton",        "Algona",
    "Pacific",    "Normandy",   "Des Moines", "SeaTac",    "Lake Forest"};
#define N_CITIES (sizeof cities / sizeof *cities)

static void usage(void) {
    (void)fprintf(stderr, "usage: gen_csv --rows N [--seed S] [--out FILE]\n");
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

#define ROW_MAX 512

/* One row's values into row[ROW_MAX], each column in its format; returns the length. */
static int format_row(char *row, long id, nn_rng *rng) {
    double u[N_X];
    for (int j = 0; j < N_X; j++) u[j] = nn_rng_uniform(rng);
    double y = 3.0 * u[0] + sin(6.0 * u[1]) + u[2] * u[3] + 0.5 * cos(4.0 * u[4]) + u[5] * u[5] +
               0.1 * (nn_rng_uniform(rng) - 0.5);
    const char *city = cities[nn_rng_below(rng, N_CITIES)];
    int missing = nn_rng_uniform(rng) < 0.01;
    char year[16] = "";
    if (!missing) (void)snprintf(year, sizeof year, "%d", (int)(1900 + u[6] * 115));
    return snprintf(row, ROW_MAX,
                    "%ld,%d,%.2f,%d,%d,%.4f,%.4f,%s,%.17g,%.3e,%.6f,%d,%.2f,%.4f,%d,%.8f,%.4f,%.6f,"
                    "%.6f,%.4f,%.6g,%s\n",
                    id, (int)(u[0] * 10), 1.0 + u[1] * 7.0, (int)(300 + u[2] * 9000),
                    (int)(75000 + u[3] * 4000000), 47.1 + u[4] * 0.7, -122.5 + u[5] * 0.8, year,
                    u[7], u[8] * 0.01, u[9] * 2 - 1, (int)(u[10] * 5), u[11] * 100, u[12] * 50,
                    (int)(u[13] * 99999), u[14], u[15] * 1000 - 500, u[16] * 10, u[17] * 13,
                    u[18] * 3, y, city);
}

int main(int argc, char **argv) {
    long rows = -1, seed = 1, max_bytes = -1;
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) {
            usage();
            return 2;
        }
        const char *a = argv[i], *v = argv[++i];
        if (strcmp(a, "--rows") == 0 && parse_long(v, 0, MAX_ROWS, &rows) == 0) continue;
        if (strcmp(a, "--seed") == 0 && parse_long(v, 0, 1L << 30, &seed) == 0) continue;
        if (strcmp(a, "--max-bytes") == 0 && parse_long(v, 1, 1L << 40, &max_bytes) == 0) continue;
        if (strcmp(a, "--out") == 0) {
            out = v;
            continue;
        }
        usage();
        return 2;
    }
    if (rows < 0) {
        usage();
        return 2;
    }
    FILE *f = out ? fopen(out, "wb") : stdout;
    if (!f) {
        perror(out);
        return 1;
    }
    static char buffer[OUT_BUFFER];
    (void)setvbuf(f, buffer, _IOFBF, sizeof buffer);
    nn_rng rng;
    nn_rng_init(&rng, (uint64_t)seed, 1);
    long written = fprintf(f, "id");
    for (int j = 1; j <= N_X; j++) written += fprintf(f, ",x%02d", j);
    written += fprintf(f, ",y,city\n");
    for (long r = 1; r <= rows; r++) {
        char row[ROW_MAX];
        int n = format_row(row, r, &rng);
        if (max_bytes >= 0 && written + n > max_bytes) break;
        if (fwrite(row, 1, (size_t)n, f) != (size_t)n) break;
        written += n;
    }
    int bad = ferror(f);
    if (fflush(f) != 0) bad = 1;
    if (out && fclose(f) != 0) bad = 1;
    if (bad) {
        (void)fprintf(stderr, "gen_csv: write error\n");
        return 1;
    }
    return 0;
}
