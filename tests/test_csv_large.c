/* test_csv_large — the CSV reader on inputs larger than its buffers and blocks: columns that
 * turn text after tens of thousands of rows (the second pass that recovers their text, from
 * memory and from a file), lines longer than a read chunk, the two line splitters (nn_csv.c's
 * own and libcsv) giving the same fields, the inference rules far into a file, and numbers
 * converted exactly as strtod. */
#include "check.h"
#include "nn_csv.h"
#include "nn_rng.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

enum { ROWS = 40000 };

/* A growable string. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void add(text *t, const char *s) {
    size_t n = strlen(s);
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
    }
    memcpy(t->s + t->len, s, n + 1);
    t->len += n;
}

/* Reads s from memory, or through a temporary file when via_file. */
static nn_status read_text(const char *s, int via_file, const nn_csv_opts *opts, nn_table **t,
                           nn_error *err) {
    *t = NULL;
    if (!via_file) return nn_csv_read_mem(s, strlen(s), opts, t, err);
    char path[] = "/tmp/test_csv_large_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return NN_ERR_IO;
    FILE *f = fdopen(fd, "wb");
    CHECK(f && fwrite(s, 1, strlen(s), f) == strlen(s));
    if (f) (void)fclose(f);
    nn_status st = nn_csv_read_file(path, opts, t, err);
    (void)unlink(path);
    return st;
}

/* Field k of column a: numbers in many spellings, missing tokens, blanks. */
static const char *a_field(size_t k) {
    static const char *const spellings[] = {"1.50", "+2", " 3 ", "NA",   "",   "1e2", "-0",
                                            "4.",   ".5", "nan", "null", "  ", "7",   "1E-3"};
    return spellings[k % (sizeof spellings / sizeof *spellings)];
}

/* Columns a and c turn text at rows flip_a and flip_c (SIZE_MAX: never); their earlier fields
 * must come back exactly as written. */
static void late_flip(size_t flip_a, size_t flip_c, int via_file) {
    text csv = {0};
    add(&csv, "a,b,c\n");
    char line[128];
    for (size_t k = 0; k < ROWS; k++) {
        (void)snprintf(line, sizeof line, "%s,%zu,%s\n", k == flip_a ? "word" : a_field(k), k,
                       k == flip_c ? "\"w,x\""
                       : k % 7     ? "12"
                                   : "\"13\"");
        add(&csv, line);
    }
    nn_table *t;
    nn_error err;
    CHECK(read_text(csv.s, via_file, NULL, &t, &err) == NN_OK);
    free(csv.s);
    if (!t) return;
    CHECK(t->n_rows == ROWS);
    CHECK(t->cols[0].type == (flip_a < ROWS ? NN_COL_TEXT : NN_COL_NUMBER));
    CHECK(t->cols[1].type == NN_COL_NUMBER && t->cols[1].num[ROWS - 1] == ROWS - 1);
    CHECK(t->cols[2].type == (flip_c < ROWS ? NN_COL_TEXT : NN_COL_NUMBER));
    int bad = 0;
    for (size_t k = 0; k < ROWS && t->cols[0].type == NN_COL_TEXT; k++) {
        const char *want = k == flip_a ? "word" : a_field(k), *got = t->cols[0].text[k];
        bad += want[0] ? !got || strcmp(got, want) != 0 : got != NULL;
    }
    for (size_t k = 0; k < ROWS && t->cols[2].type == NN_COL_TEXT; k++) {
        const char *want = k == flip_c ? "w,x" : k % 7 ? "12" : "13", *got = t->cols[2].text[k];
        bad += !got || strcmp(got, want) != 0;
    }
    CHECK(bad == 0);
    nn_table_destroy(t);
}

static void test_csv_column_turns_text_late(void) {
    for (int via_file = 0; via_file < 2; via_file++) {
        late_flip(ROWS - 1, SIZE_MAX, via_file); /* the last row */
        late_flip(20000, 35000, via_file);       /* two columns, two rows, past a block */
        late_flip(0, 17000, via_file);           /* text from the start, and later */
        late_flip(SIZE_MAX, SIZE_MAX, via_file); /* no second pass */
    }
}

/* Rows with fields of 100 KB (more than a read chunk), quoted or not, among ordinary rows. */
static void test_csv_lines_longer_than_a_chunk(void) {
    size_t big = 100000;
    char *long_field = malloc(big + 1);
    for (size_t i = 0; i < big; i++) long_field[i] = (char)('a' + i % 26);
    long_field[big] = '\0';
    text csv = {0};
    add(&csv, "n,s\n");
    for (int k = 0; k < 50; k++) {
        char head[32];
        (void)snprintf(head, sizeof head, "%d,", k);
        add(&csv, head);
        if (k % 10 == 3) {
            add(&csv, k % 20 == 3 ? "\"" : "");
            add(&csv, long_field);
            add(&csv, k % 20 == 3 ? "\"\r\n" : "\n");
        } else {
            add(&csv, "short\n");
        }
    }
    for (int via_file = 0; via_file < 2; via_file++) {
        nn_table *t;
        nn_error err;
        CHECK(read_text(csv.s, via_file, NULL, &t, &err) == NN_OK);
        if (!t) continue;
        CHECK(t->n_rows == 50 && t->cols[1].type == NN_COL_TEXT);
        for (int k = 0; k < 50; k++) {
            CHECK(t->cols[0].num[k] == k);
            CHECK_STR(t->cols[1].text[k], k % 10 == 3 ? long_field : "short");
        }
        nn_table_destroy(t);
    }
    free(csv.s);
    free(long_field);
}

/* The same fields, written so that each line takes either splitter, read the same. */
static void test_csv_both_splitters_agree(void) {
    const char *forms[] = {
        /* plain lines: nn_csv.c splits them */
        "a,b,c\n1,x y,\n2,,z\n",
        /* quoted fields that stay on their line: still nn_csv.c */
        "\"a\",b,\"c\"\n\"1\",\"x y\",\"\"\n2,,\"z\"\n",
        /* a carriage return inside the line, a quote doubled: libcsv */
        "a,b,c\r\n1,x y,\r\n2,,z\n",
        "a,b,c\n1,\"x y\",\"\"\n\"2\",\"\",\"z\"",
    };
    for (size_t f = 0; f < sizeof forms / sizeof *forms; f++) {
        nn_table *t;
        nn_error err;
        CHECK(read_text(forms[f], 0, NULL, &t, &err) == NN_OK);
        if (!t) continue;
        CHECK(t->n_rows == 2 && t->n_cols == 3);
        CHECK_STR(t->cols[0].name, "a");
        CHECK(t->cols[0].type == NN_COL_NUMBER && t->cols[0].num[1] == 2);
        CHECK_STR(t->cols[1].text[0], "x y");
        CHECK(t->cols[1].text[1] == NULL && t->cols[2].text[0] == NULL);
        CHECK_STR(t->cols[2].text[1], "z");
        nn_table_destroy(t);
    }
    /* "" inside quotes, and a carriage return alone ending a row, as libcsv reads them */
    nn_table *t;
    nn_error err;
    CHECK(read_text("q\n\"say \"\"hi\"\"\"\nx\ry\n", 0, NULL, &t, &err) == NN_OK);
    if (t) {
        CHECK(t->n_rows == 3);
        CHECK_STR(t->cols[0].text[0], "say \"hi\"");
        CHECK_STR(t->cols[0].text[1], "x");
        CHECK_STR(t->cols[0].text[2], "y");
    }
    nn_table_destroy(t);
}

/* The rules of nn_csv.h far into a file: a zip with a leading zero makes its column text (the
 * numbers before it come back as written), NA tokens are missing in a number column, and an
 * infinite value is an error that names its line. */
static void test_csv_rules_late_in_a_file(void) {
    text csv = {0};
    add(&csv, "zip,v\n");
    char line[64];
    for (size_t k = 0; k < ROWS; k++) {
        const char *v = k == 25000 ? "inf" : k % 5 == 0 ? "NaN" : k % 5 == 1 ? "NA" : "2.5e-3";
        (void)snprintf(line, sizeof line, "%s,%s\n", k == 30000 ? "02134" : "98178", v);
        add(&csv, line);
    }
    nn_table *t;
    nn_error err;
    nn_csv_opts o = {.name = "late.csv"};
    CHECK(read_text(csv.s, 0, &o, &t, &err) == NN_ERR_PARSE);
    CHECK_STR(err.msg, "late.csv:25002: column \"v\": value \"inf\" is out of range");
    nn_table_destroy(t);
    char *inf = strstr(csv.s, "inf");
    memcpy(inf, "1.0", 3);
    CHECK(read_text(csv.s, 1, &o, &t, &err) == NN_OK);
    if (t) {
        CHECK(t->cols[0].type == NN_COL_TEXT && t->cols[1].type == NN_COL_NUMBER);
        CHECK_STR(t->cols[0].text[0], "98178");
        CHECK_STR(t->cols[0].text[30000], "02134");
        CHECK(nn_table_missing(t, 1) == 2 * ROWS / 5 - 1); /* row 25000 now 1.0 */
        CHECK(t->cols[1].num[2] == 2.5e-3 && t->cols[1].num[25000] == 1.0);
    }
    nn_table_destroy(t);
    free(csv.s);
}

/* Every number field is the double strtod reads from it. */
static void test_csv_numbers_as_strtod(void) {
    nn_rng rng;
    nn_rng_init(&rng, 3, 1);
    text csv = {0};
    add(&csv, "x\n");
    char line[64];
    for (size_t k = 0; k < ROWS; k++) {
        double x = (nn_rng_uniform(&rng) - 0.5) * pow(10, (double)nn_rng_below(&rng, 60) - 30);
        if (k % 2)
            (void)snprintf(line, sizeof line, "%.17g\n", x);
        else
            (void)snprintf(line, sizeof line, "%.*e\n", (int)(k % 17), x);
        add(&csv, line);
    }
    nn_table *t;
    nn_error err;
    CHECK(read_text(csv.s, 0, NULL, &t, &err) == NN_OK);
    if (t) {
        const char *p = csv.s + 2;
        int bad = 0;
        for (size_t k = 0; k < ROWS; k++) {
            char *end;
            double want = strtod(p, &end);
            bad += memcmp(&want, &t->cols[0].num[k], sizeof want) != 0;
            p = end + 1;
        }
        CHECK(bad == 0);
    }
    nn_table_destroy(t);
    free(csv.s);
}

int main(void) {
    RUN(test_csv_column_turns_text_late);
    RUN(test_csv_lines_longer_than_a_chunk);
    RUN(test_csv_both_splitters_agree);
    RUN(test_csv_rules_late_in_a_file);
    RUN(test_csv_numbers_as_strtod);
    return check_summary();
}
