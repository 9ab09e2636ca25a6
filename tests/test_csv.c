/* test_csv.c — nn_csv: RFC 4180 edge cases, limits, inference, errors, round trips, and the
 * King County house-sales file. */
#include "check.h"
#include "nn_csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Reads the NUL-terminated text s as "x.csv" with opts (may be NULL). */
static nn_status read_str(const char *s, nn_csv_opts *opts, nn_table **t, nn_error *err) {
    nn_csv_opts o = opts ? *opts : (nn_csv_opts){0};
    if (!o.name) o.name = "x.csv";
    *t = NULL;
    nn_error_clear(err);
    return nn_csv_read_mem(s, strlen(s), &o, t, err);
}

/* Expects reading s to fail with code and exactly msg. */
static void expect_error(const char *s, nn_csv_opts *opts, nn_status code, const char *msg) {
    nn_table *t = NULL;
    nn_error err;
    nn_status st = read_str(s, opts, &t, &err);
    CHECK(st == code);
    CHECK(t == NULL);
    CHECK_STR(err.msg, msg);
    nn_table_destroy(t);
}

static const nn_column *col(const nn_table *t, const char *name) {
    int i = nn_table_find(t, name);
    CHECK(i >= 0);
    return i >= 0 ? &t->cols[i] : &t->cols[0];
}

static void test_csv_quoted_fields(void) {
    nn_table *t;
    nn_error err;
    const char *s = "name,note,n\n"
                    "\"Smith, J\",\"say \"\"hi\"\"\",1\n"
                    "plain,\"two\nlines\",2\n"
                    "\"\",\"a,\"\"b\"\",\nc\",3\n";
    CHECK(read_str(s, NULL, &t, &err) == NN_OK);
    if (!t) return;
    CHECK(t->n_rows == 3 && t->n_cols == 3);
    CHECK_STR(col(t, "name")->text[0], "Smith, J");
    CHECK_STR(col(t, "note")->text[0], "say \"hi\"");
    CHECK_STR(col(t, "note")->text[1], "two\nlines");
    CHECK(col(t, "name")->text[2] == NULL); /* "" is missing */
    CHECK_STR(col(t, "note")->text[2], "a,\"b\",\nc");
    CHECK(col(t, "n")->type == NN_COL_NUMBER && col(t, "n")->num[2] == 3.0);
    nn_table_destroy(t);
}

static void test_csv_crlf_bom_no_trailing_newline(void) {
    nn_table *t;
    nn_error err;
    CHECK(read_str("\xEF\xBB\xBFid,v\r\n1,\"x\r\ny\"\r\n2,z", NULL, &t, &err) == NN_OK);
    if (!t) return;
    CHECK(t->n_rows == 2);
    CHECK(nn_table_find(t, "id") == 0); /* BOM stripped from the first name */
    CHECK(t->cols[0].num[1] == 2.0);
    CHECK_STR(t->cols[1].text[0], "x\r\ny");
    CHECK_STR(t->cols[1].text[1], "z");
    nn_table_destroy(t);
}

static void test_csv_blank_lines_ignored(void) {
    nn_table *t;
    nn_error err;
    CHECK(read_str("a,b\n1,2\n\n3,4\n\n\r\n\n", NULL, &t, &err) == NN_OK);
    if (!t) return;
    CHECK(t->n_rows == 2);
    CHECK(t->cols[1].num[1] == 4.0);
    nn_table_destroy(t);
}

static void test_csv_spaces_are_kept(void) {
    nn_table *t;
    nn_error err;
    CHECK(read_str("a,b\n 1 , x \n2,y\n", NULL, &t, &err) == NN_OK);
    if (!t) return;
    CHECK(t->cols[0].type == NN_COL_NUMBER && t->cols[0].num[0] == 1.0);
    CHECK_STR(t->cols[1].text[0], " x ");
    nn_table_destroy(t);
}

static void test_csv_ragged_rows(void) {
    expect_error("a,b,c\n1,2,3\n4,5\n", NULL, NN_ERR_PARSE, "x.csv:3: expected 3 fields, found 2");
    expect_error("a,b\n1,2\n3,4,5\n", NULL, NN_ERR_PARSE, "x.csv:3: expected 2 fields, found 3");
    /* a quoted field spanning lines counts its lines; a blank line counts too */
    expect_error("a,b\n\"1\n\n2\",2\n\n3\n", NULL, NN_ERR_PARSE,
                 "x.csv:6: expected 2 fields, found 1");
    expect_error("a,b\n1,2\n3", NULL, NN_ERR_PARSE, "x.csv:3: expected 2 fields, found 1");
    /* the row's first line is reported, not the line where it ends */
    expect_error("a,b,c\n1,\"x\ny\"\n", NULL, NN_ERR_PARSE, "x.csv:2: expected 3 fields, found 2");
    expect_error("a,b,c\r\n1,2,3\r\n\"p\r\nq\",\"r\r\n\r\ns\",t,u\r\n", NULL, NN_ERR_PARSE,
                 "x.csv:3: expected 3 fields, found 4");
}

static void test_csv_quote_errors(void) {
    expect_error("a,b\n1,\"open\n2,3\n", NULL, NN_ERR_PARSE, "x.csv:2: unterminated quoted field");
    expect_error("a,b\n1,2\n3,ab\"c\n", NULL, NN_ERR_PARSE, "x.csv:3: misplaced quote in field 2");
    expect_error("a,b\n1,\"x\"y\n", NULL, NN_ERR_PARSE, "x.csv:2: misplaced quote in field 2");
}

static void test_csv_field_limit(void) {
    nn_csv_opts o = {.max_field = 8};
    expect_error("a,b\n1,2\n3,123456789\n", &o, NN_ERR_LIMIT, "x.csv:3: field 2 exceeds 8 bytes");
    /* a field far larger than the parser's buffer block is stopped while it streams */
    size_t big = 3 * NN_CSV_CHUNK;
    char *s = malloc(big + 16);
    memcpy(s, "a,b\n1,\"", 7);
    memset(s + 7, 'x', big);
    memcpy(s + 7 + big, "\"\n", 3);
    o.max_field = 1000;
    expect_error(s, &o, NN_ERR_LIMIT, "x.csv:2: field 2 exceeds 1000 bytes");
    nn_table *t;
    nn_error err;
    CHECK(read_str(s, NULL, &t, &err) == NN_OK); /* fits the default 1 MiB */
    if (t) CHECK(strlen(t->cols[1].text[0]) == big);
    nn_table_destroy(t);
    free(s);
}

static void test_csv_row_and_field_count_limits(void) {
    nn_csv_opts o = {.max_rows = 2};
    expect_error("a\n1\n2\n3\n", &o, NN_ERR_LIMIT, "x.csv:4: more than 2 data rows");
    nn_table *t;
    nn_error err;
    CHECK(read_str("a\n1\n2\n", &o, &t, &err) == NN_OK);
    nn_table_destroy(t);
    o = (nn_csv_opts){.max_fields = 2};
    expect_error("a,b,c\n1,2,3\n", &o, NN_ERR_LIMIT, "x.csv:1: more than 2 fields");
}

static void test_csv_binary_garbage(void) {
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int trial = 0; trial < 50; trial++) {
        char buf[4096];
        for (size_t i = 0; i < sizeof buf; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (char)(x >> 56);
        }
        buf[trial % 64] = '\0'; /* a NUL early on, always */
        nn_table *t = NULL;
        nn_error err = {0};
        nn_csv_opts o = {.name = "g.bin"};
        nn_status st = nn_csv_read_mem(buf, sizeof buf, &o, &t, &err);
        CHECK(st == NN_ERR_PARSE);
        CHECK(t == NULL);
        CHECK_CONTAINS(err.msg, "g.bin:");
        nn_table_destroy(t);
    }
    expect_error("a,b\n1,\xff\xfe\n", NULL, NN_ERR_PARSE, "x.csv:2: not valid UTF-8 text");
    expect_error("a,\xc0\xaf\n", NULL, NN_ERR_PARSE,
                 "x.csv:1: not valid UTF-8 text"); /* overlong */
    nn_table *t;
    nn_error err;
    const char nul[] = "a,b\n1,x\0y\n";
    CHECK(nn_csv_read_mem(nul, sizeof nul - 1, NULL, &t, &err) == NN_ERR_PARSE);
    CHECK_STR(err.msg, "<input>:2: not valid UTF-8 text");
    CHECK(read_str("h\n\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n", NULL, &t, &err) ==
          NN_OK);
    if (t) CHECK_STR(t->cols[0].text[0], "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    nn_table_destroy(t);
}

static void test_csv_empty_and_header_only(void) {
    expect_error("", NULL, NN_ERR_PARSE, "x.csv: empty file");
    expect_error("\n\r\n\n", NULL, NN_ERR_PARSE, "x.csv: empty file");
    expect_error("\xEF\xBB\xBF", NULL, NN_ERR_PARSE, "x.csv: empty file");
    nn_table *t;
    nn_error err;
    CHECK(read_str("a,b,c\n", NULL, &t, &err) == NN_OK);
    if (!t) return;
    CHECK(t->n_rows == 0 && t->n_cols == 3);
    CHECK(nn_table_find(t, "c") == 2);
    nn_table_destroy(t);
    CHECK(read_str("a,b,c", NULL, &t, &err) == NN_OK);
    if (t) CHECK(t->n_rows == 0 && t->n_cols == 3);
    nn_table_destroy(t);
}

static void test_csv_header_errors(void) {
    expect_error("a,b,,d\n1,2,3,4\n", NULL, NN_ERR_PARSE, "x.csv:1: empty column name in field 3");
    expect_error("a,\"\"\n", NULL, NN_ERR_PARSE, "x.csv:1: empty column name in field 2");
    expect_error("price,x,price\n", NULL, NN_ERR_PARSE, "x.csv:1: duplicate column name \"price\"");
    expect_error("\n\na,a\n", NULL, NN_ERR_PARSE, "x.csv:3: duplicate column name \"a\"");
    char name[NN_MAX_NAME + 8];
    memset(name, 'n', NN_MAX_NAME);
    memcpy(name + NN_MAX_NAME, "\n1\n", 4);
    expect_error(name, NULL, NN_ERR_LIMIT, "x.csv:1: column name in field 1 exceeds 255 bytes");
}

static void test_csv_missing_values(void) {
    nn_table *t;
    nn_error err;
    CHECK(read_str("n,s\n1,a\n,\n\"\",\"\"\n4,d\n", NULL, &t, &err) == NN_OK);
    if (!t) return;
    CHECK(t->cols[0].type == NN_COL_NUMBER && t->cols[1].type == NN_COL_TEXT);
    CHECK(isnan(t->cols[0].num[1]) && isnan(t->cols[0].num[2]));
    CHECK(t->cols[1].text[1] == NULL && t->cols[1].text[2] == NULL);
    CHECK(nn_table_missing(t, 0) == 2 && nn_table_missing(t, 1) == 2);
    nn_table_destroy(t);
}

static void test_csv_number_inference(void) {
    nn_table *t;
    nn_error err;
    CHECK(read_str("p,q,r,h\n1.225e+006,\"1.5\",-0,0x10\n+7,.5, 2E-3 ,1\n", NULL, &t, &err) ==
          NN_OK);
    if (!t) return;
    CHECK(t->cols[0].type == NN_COL_NUMBER && t->cols[0].num[0] == 1225000.0);
    CHECK(t->cols[0].num[1] == 7.0);
    CHECK(t->cols[1].type == NN_COL_NUMBER && t->cols[1].num[0] == 1.5);
    CHECK(t->cols[2].type == NN_COL_NUMBER && t->cols[2].num[1] == 0.002);
    CHECK(signbit(t->cols[2].num[0]));
    CHECK(t->cols[3].type == NN_COL_TEXT); /* hex is not a decimal number */
    CHECK_STR(t->cols[3].text[0], "0x10");
    nn_table_destroy(t);
}

static void test_csv_leading_zero_ids_stay_text(void) {
    nn_table *t;
    nn_error err;
    CHECK(read_str("id,zip,z,f\n\"7129300520\",98178,0,0.5\n\"0322059210\",02134,0,00.5\n", NULL,
                   &t, &err) == NN_OK);
    if (!t) return;
    CHECK(col(t, "id")->type == NN_COL_TEXT);
    CHECK_STR(col(t, "id")->text[1], "0322059210");
    CHECK_STR(col(t, "id")->text[0], "7129300520");
    CHECK(col(t, "zip")->type == NN_COL_TEXT);
    CHECK_STR(col(t, "zip")->text[1], "02134");
    CHECK(col(t, "z")->type == NN_COL_NUMBER); /* a lone 0 is a number */
    CHECK(col(t, "f")->type == NN_COL_NUMBER && col(t, "f")->num[1] == 0.5);
    nn_table_destroy(t);
}

static void test_csv_na_tokens(void) {
    nn_table *t;
    nn_error err;
    CHECK(read_str("a,b\nNA,NA\nN/A,x\nNaN,y\nnan,z\nnull,w\nNULL,v\n   ,u\n5,t\n", NULL, &t,
                   &err) == NN_OK);
    if (!t) return;
    CHECK(t->cols[0].type == NN_COL_NUMBER);
    CHECK(nn_table_missing(t, 0) == 7);
    CHECK(t->cols[0].num[7] == 5.0);
    CHECK(t->cols[1].type == NN_COL_TEXT);
    CHECK_STR(t->cols[1].text[0], "NA"); /* kept as text in a text column */
    nn_table_destroy(t);
    /* other spellings are text */
    CHECK(read_str("a\nna\n1\n", NULL, &t, &err) == NN_OK);
    if (t) CHECK(t->cols[0].type == NN_COL_TEXT);
    nn_table_destroy(t);
}

static void test_csv_out_of_range(void) {
    const char *s = "id,price\n1,100\n2,1e999\n3,200\n";
    expect_error(s, NULL, NN_ERR_PARSE,
                 "x.csv:3: column \"price\": value \"1e999\" is out of range");
    expect_error("a\n1\n-inf\n", NULL, NN_ERR_PARSE,
                 "x.csv:3: column \"a\": value \"-inf\" is out of range");
    nn_table *t;
    nn_error err;
    /* in a text column it is just text */
    CHECK(read_str("a\n1e999\nabc\n", NULL, &t, &err) == NN_OK);
    if (t) CHECK_STR(t->cols[0].text[0], "1e999");
    nn_table_destroy(t);
    /* underflow is a number (0 or subnormal), not an error */
    CHECK(read_str("a\n1e-999\n", NULL, &t, &err) == NN_OK);
    if (t) CHECK(t->cols[0].type == NN_COL_NUMBER && t->cols[0].num[0] == 0.0);
    nn_table_destroy(t);
}

static void test_csv_text_columns_override(void) {
    const char *const tc[] = {"code", NULL};
    nn_csv_opts o = {.text_columns = tc};
    nn_table *t;
    nn_error err;
    CHECK(read_str("code,v\n123,1\n,2\n45.0,3\n", &o, &t, &err) == NN_OK);
    if (!t) return;
    CHECK(t->cols[0].type == NN_COL_TEXT);
    CHECK_STR(t->cols[0].text[0], "123");
    CHECK(t->cols[0].text[1] == NULL);
    CHECK_STR(t->cols[0].text[2], "45.0");
    CHECK(t->cols[1].type == NN_COL_NUMBER);
    nn_table_destroy(t);
    const char *const bad[] = {"zip", NULL};
    o.text_columns = bad;
    expect_error("code,v\n1,2\n", &o, NN_ERR_INVALID,
                 "x.csv: text column \"zip\" is not in the header");
}

/* Writes t to a temporary file and reads it back. */
static nn_table *round_trip(const nn_table *t, nn_csv_opts *opts) {
    char path[] = "/tmp/nn_csv_test_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return NULL;
    (void)close(fd);
    nn_error err = {0};
    nn_table *back = NULL;
    CHECK(nn_csv_write_file(path, t, &err) == NN_OK);
    if (nn_csv_read_file(path, opts, &back, &err) != NN_OK) {
        fprintf(stderr, "round trip read: %s\n", err.msg);
        CHECK(0);
    }
    (void)unlink(path);
    return back;
}

static void test_csv_round_trip_numbers_exact(void) {
    enum { N = 2000 };
    nn_table *t = NULL;
    nn_error err;
    CHECK(nn_table_create(N, &t, &err) == NN_OK);
    double *v = malloc(N * sizeof *v);
    uint64_t x = 12345;
    for (int i = 0; i < N; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        double u = (double)(x >> 11) / 9007199254740992.0; /* [0, 1) with 53 bits */
        v[i] = (u - 0.5) * pow(10.0, (double)(i % 40) - 20);
    }
    v[0] = 0.1, v[1] = 1.0 / 3.0, v[2] = -0.0, v[3] = 1e300, v[4] = 5e-324, v[5] = NAN;
    v[6] = 1225000, v[7] = 0.30000000000000004, v[8] = 1.7976931348623157e308;
    CHECK(nn_table_add_number_take(t, "v", v, NULL, &err) == NN_OK);
    nn_table *back = round_trip(t, NULL);
    if (back) {
        CHECK(back->n_rows == N && back->cols[0].type == NN_COL_NUMBER);
        int same = 1;
        for (int i = 0; i < N; i++)
            same &= memcmp(&back->cols[0].num[i], &t->cols[0].num[i], sizeof(double)) == 0 ||
                    (isnan(back->cols[0].num[i]) && isnan(t->cols[0].num[i]));
        CHECK(same);
        CHECK(isnan(back->cols[0].num[5]) && signbit(back->cols[0].num[2]));
    }
    nn_table_destroy(back);
    nn_table_destroy(t);
}

static void test_csv_round_trip_text(void) {
    const char *vals[] = {
        "a,b", "say \"hi\"", "two\nlines", "cr\r\nlf",          " lead", "trail ", "123", "NA",
        NULL,  "0322059210", "plain",      "\xc3\xa9t\xc3\xa9", "1e999"};
    enum { N = sizeof vals / sizeof *vals };
    nn_table *t = NULL;
    nn_error err;
    CHECK(nn_table_create(N, &t, &err) == NN_OK);
    char **s = calloc(N, sizeof *s);
    double *num = malloc(N * sizeof *num);
    for (int i = 0; i < N; i++) {
        if (vals[i]) {
            s[i] = malloc(strlen(vals[i]) + 1);
            memcpy(s[i], vals[i], strlen(vals[i]) + 1);
        }
        num[i] = i == 4 ? NAN : i * 0.25;
    }
    CHECK(nn_table_add_text_take(t, "text, with comma", s, NULL, &err) == NN_OK);
    CHECK(nn_table_add_number_take(t, "n", num, NULL, &err) == NN_OK);
    nn_table *back = round_trip(t, NULL);
    if (back) {
        CHECK(back->n_rows == N && back->n_cols == 2);
        CHECK(nn_table_find(back, "text, with comma") == 0);
        CHECK(back->cols[0].type == NN_COL_TEXT);
        for (int i = 0; i < N; i++) {
            if (vals[i])
                CHECK_STR(back->cols[0].text[i], vals[i]);
            else
                CHECK(back->cols[0].text[i] == NULL);
        }
        CHECK(isnan(back->cols[1].num[4]) && back->cols[1].num[3] == 0.75);
    }
    nn_table_destroy(back);
    nn_table_destroy(t);
}

static void test_csv_write_quoting_and_one_column(void) {
    nn_table *t = NULL;
    nn_error err;
    CHECK(nn_table_create(3, &t, &err) == NN_OK);
    char **s = calloc(3, sizeof *s);
    s[0] = malloc(4);
    memcpy(s[0], "123", 4);
    s[2] = malloc(3);
    memcpy(s[2], "ab", 3);
    CHECK(nn_table_add_text_take(t, "s", s, NULL, &err) == NN_OK);
    char buf[256] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    CHECK(nn_csv_write(f, t, &err) == NN_OK);
    (void)fclose(f);
    CHECK_STR(buf, "s\n\"123\"\n\"\"\nab\n"); /* number-like text quoted; lone missing as "" */
    nn_table *back = NULL;
    CHECK(nn_csv_read_mem(buf, strlen(buf), NULL, &back, &err) == NN_OK);
    if (back) CHECK(back->n_rows == 3 && back->cols[0].text[1] == NULL);
    nn_table_destroy(back);
    /* what does not round-trip: an all-number-like text column reads back as numbers, unless
     * it is listed in text_columns */
    free(t->cols[0].text[2]);
    t->cols[0].text[2] = malloc(4);
    memcpy(t->cols[0].text[2], "4.5", 4);
    back = round_trip(t, NULL);
    if (back) CHECK(back->cols[0].type == NN_COL_NUMBER && back->cols[0].num[2] == 4.5);
    nn_table_destroy(back);
    const char *const tc[] = {"s", NULL};
    nn_csv_opts o = {.text_columns = tc};
    back = round_trip(t, &o);
    if (back) CHECK(back->cols[0].type == NN_COL_TEXT);
    if (back) CHECK_STR(back->cols[0].text[2], "4.5");
    nn_table_destroy(back);
    nn_table_destroy(t);
}

static void test_csv_write_errors(void) {
    nn_table *t = NULL;
    nn_error err;
    CHECK(nn_table_create(2, &t, &err) == NN_OK);
    char buf[64];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    CHECK(nn_csv_write(f, t, &err) == NN_ERR_INVALID);
    CHECK(nn_table_add_number_copy(t, "x", (double[]){1, INFINITY}, NULL, &err) == NN_OK);
    CHECK(nn_csv_write(f, t, &err) == NN_ERR_DOMAIN);
    CHECK_STR(err.msg, "column \"x\", row 2: cannot write infinite value");
    (void)fclose(f);
    CHECK(nn_csv_write_file("/nonexistent-dir/out.csv", t, &err) == NN_ERR_IO);
    CHECK_STR(err.msg, "cannot open /nonexistent-dir/out.csv: No such file or directory");
    t->cols[0].num[1] = 2;
    f = fopen("/dev/full", "w");
    if (f) {
        CHECK(nn_csv_write(f, t, &err) == NN_ERR_IO);
        CHECK_CONTAINS(err.msg, "write error: No space left on device");
        (void)fclose(f);
    }
    nn_table_destroy(t);
}

static void test_csv_read_file_errors_and_data_files(void) {
    nn_table *t = NULL;
    nn_error err;
    CHECK(nn_csv_read_file("/nonexistent/kc.csv", NULL, &t, &err) == NN_ERR_IO);
    CHECK_STR(err.msg, "cannot open /nonexistent/kc.csv: No such file or directory");
    nn_csv_opts o = {.name = "kc.csv"};
    CHECK(nn_csv_read_file("/nonexistent/kc.csv", &o, &t, &err) == NN_ERR_IO);
    CHECK_STR(err.msg, "cannot open kc.csv: No such file or directory");
    CHECK(t == NULL);
    CHECK(nn_csv_read_file("data", &o, &t, &err) == NN_ERR_IO); /* a directory opens, reads fail */
    CHECK_STR(err.msg, "kc.csv: read error: Is a directory");
    CHECK(t == NULL);
    /* tests run in tests/, where data/csv/ holds files written by hand */
    CHECK(nn_csv_read_file("data/csv/quoted.csv", NULL, &t, &err) == NN_OK);
    if (t) {
        CHECK(t->n_rows == 3 && t->n_cols == 3);
        CHECK_STR(col(t, "comment")->text[1], "multi\r\nline, with \"quotes\"");
        CHECK(col(t, "price")->num[2] == 1225000.0);
    }
    nn_table_destroy(t);
    t = NULL;
    CHECK(nn_csv_read_file("data/csv/ragged.csv", NULL, &t, &err) == NN_ERR_PARSE);
    CHECK_STR(err.msg, "data/csv/ragged.csv:4: expected 3 fields, found 2");
}

/* The King County house-sales file: examples/ in the repo, else the shared data dir. */
static void test_csv_king_county(void) {
    const char *src = getenv("NN_SOURCE_DIR");
    CHECK(src != NULL);
    if (!src) return;
    char path[1024];
    (void)snprintf(path, sizeof path, "%s/examples/kc_house_data.csv", src);
    if (access(path, R_OK) != 0)
        (void)snprintf(path, sizeof path, "%s/../shared/data/kc_house_data.csv", src);
    nn_table *t = NULL;
    nn_error err = {0};
    nn_csv_opts o = {.name = "kc.csv"};
    nn_status st = nn_csv_read_file(path, &o, &t, &err);
    if (st != NN_OK) fprintf(stderr, "%s: %s\n", path, err.msg);
    CHECK(st == NN_OK); /* fails loudly when the file is absent */
    if (!t) return;
    CHECK(t->n_rows == 21613);
    CHECK(t->n_cols == 21);
    const nn_column *id = col(t, "id"), *price = col(t, "price"), *date = col(t, "date");
    CHECK(id->type == NN_COL_TEXT && date->type == NN_COL_TEXT);
    CHECK(price->type == NN_COL_NUMBER && col(t, "floors")->type == NN_COL_NUMBER);
    CHECK(col(t, "zipcode")->type == NN_COL_NUMBER && col(t, "lat")->type == NN_COL_NUMBER);
    CHECK_STR(id->text[0], "7129300520");
    CHECK_STR(date->text[0], "20141013T000000");
    size_t zero_ids = 0, has_0322 = 0, sci = 0;
    double max = -1;
    for (size_t i = 0; i < t->n_rows; i++) {
        zero_ids += id->text[i] && id->text[i][0] == '0' && strlen(id->text[i]) == 10;
        has_0322 += id->text[i] && strcmp(id->text[i], "0322059210") == 0;
        sci += price->num[i] == 1225000.0;
        if (price->num[i] > max) max = price->num[i];
    }
    CHECK(zero_ids > 0);
    CHECK(has_0322 >= 1);
    CHECK(sci >= 1); /* written 1.225e+006 in the file */
    CHECK(max == 7700000.0);
    CHECK(nn_table_missing(t, nn_table_find(t, "price")) == 0);
    CHECK(col(t, "floors")->num[1] == 2.0);
    nn_table_destroy(t);
}

/* One quoting rule for every CSV field nnd and nn write, names included (RFC 4180). */
static void test_csv_format_field(void) {
    char out[64];
    CHECK(nn_csv_format_field("plain", 0, out, sizeof out) == 5);
    CHECK_STR(out, "plain");
    CHECK(nn_csv_format_field("c,d", 0, out, sizeof out) == 5);
    CHECK_STR(out, "\"c,d\"");
    CHECK(nn_csv_format_field("say \"hi\"", 0, out, sizeof out) == 12);
    CHECK_STR(out, "\"say \"\"hi\"\"\"");
    CHECK(nn_csv_format_field("a\nb", 0, out, sizeof out) == 5);
    CHECK_STR(out, "\"a\nb\"");
    CHECK(nn_csv_format_field("0123", 0, out, sizeof out) == 4); /* reads back as text anyway */
    CHECK(nn_csv_format_field("123", 0, out, sizeof out) == 5);  /* would read as a number */
    CHECK_STR(out, "\"123\"");
    CHECK(nn_csv_format_field("0123", 1, out, sizeof out) == 6); /* an identifier: always */
    CHECK_STR(out, "\"0123\"");
    CHECK(nn_csv_format_field(" x", 0, out, sizeof out) == 4);
    CHECK(nn_csv_format_field("", 0, out, sizeof out) == 2);
    CHECK_STR(out, "\"\"");
    /* snprintf-like: the length without room, and a cut that stays terminated */
    CHECK(nn_csv_format_field("c,d", 0, NULL, 0) == 5);
    CHECK(nn_csv_format_field("c,d", 0, out, 3) == 5);
    CHECK_STR(out, "\"c");
    /* what it writes reads back as the same name */
    nn_table *t = NULL;
    nn_error err = {0};
    char csv[128];
    char a[32], b[32];
    (void)nn_csv_format_field("c,d", 0, a, sizeof a);
    (void)nn_csv_format_field("say \"hi\"", 0, b, sizeof b);
    (void)snprintf(csv, sizeof csv, "%s,%s\n1,2\n", a, b);
    CHECK(nn_csv_read_mem(csv, strlen(csv), NULL, &t, &err) == NN_OK);
    if (t) {
        CHECK(t->n_cols == 2);
        CHECK_STR(t->cols[0].name, "c,d");
        CHECK_STR(t->cols[1].name, "say \"hi\"");
    }
    nn_table_destroy(t);
}

int main(void) {
    RUN(test_csv_format_field);
    RUN(test_csv_quoted_fields);
    RUN(test_csv_crlf_bom_no_trailing_newline);
    RUN(test_csv_blank_lines_ignored);
    RUN(test_csv_spaces_are_kept);
    RUN(test_csv_ragged_rows);
    RUN(test_csv_quote_errors);
    RUN(test_csv_field_limit);
    RUN(test_csv_row_and_field_count_limits);
    RUN(test_csv_binary_garbage);
    RUN(test_csv_empty_and_header_only);
    RUN(test_csv_header_errors);
    RUN(test_csv_missing_values);
    RUN(test_csv_number_inference);
    RUN(test_csv_leading_zero_ids_stay_text);
    RUN(test_csv_na_tokens);
    RUN(test_csv_out_of_range);
    RUN(test_csv_text_columns_override);
    RUN(test_csv_round_trip_numbers_exact);
    RUN(test_csv_round_trip_text);
    RUN(test_csv_write_quoting_and_one_column);
    RUN(test_csv_write_errors);
    RUN(test_csv_read_file_errors_and_data_files);
    RUN(test_csv_king_county);
    return check_summary();
}
