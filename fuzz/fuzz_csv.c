/* fuzz_csv.c — libFuzzer harness for the CSV reader (nn_csv_read_mem).
 *
 * The first byte picks the options (bit 0: a name for messages; bit 1: max_field 16 bytes; bit 2:
 * max_fields 3; bit 3: max_rows 2; bits 4-5: text_columns none / {"a"} / {"id", "zip"} /
 * {"nosuch"}); the rest is the CSV text. When the text reads, the table is checked (every column
 * named, n_rows values each, text cells valid C strings) and round-tripped: nn_csv_write to
 * memory, read back with every text column listed as text, and compared cell for cell — number
 * columns bit for bit (NaN = NaN), text columns exactly (the writer's documented contract). */
#include "fuzz_common.h"

#include <math.h>
#include <string.h>

static const char *const text_a[] = {"a", NULL};
static const char *const text_id_zip[] = {"id", "zip", NULL};
static const char *const text_nosuch[] = {"nosuch", NULL};

static void check_table(const nn_table *t) {
    for (size_t c = 0; c < t->n_cols; c++) {
        const nn_column *col = &t->cols[c];
        FUZZ_CHECK(col->name && col->name[0], "every column has a name");
        if (col->type == NN_COL_NUMBER) {
            for (size_t i = 0; i < t->n_rows; i++)
                FUZZ_CHECK(isnan(col->num[i]) || isfinite(col->num[i]), "numbers are finite");
        } else {
            for (size_t i = 0; i < t->n_rows; i++)
                FUZZ_CHECK(!col->text[i] || strlen(col->text[i]) < ((size_t)1 << 31), "text cell");
        }
    }
}

static int same_cell(const nn_column *a, const nn_column *b, size_t i) {
    if (a->type == NN_COL_NUMBER) {
        double x = a->num[i], y = b->num[i];
        return (isnan(x) && isnan(y)) || memcmp(&x, &y, sizeof x) == 0;
    }
    if (!a->text[i] || !b->text[i]) return !a->text[i] && !b->text[i];
    return strcmp(a->text[i], b->text[i]) == 0;
}

static void round_trip(const nn_table *t) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    FUZZ_CHECK(f != NULL, "open_memstream");
    nn_error err = {0};
    nn_status st = nn_csv_write(f, t, &err);
    FUZZ_CHECK(fclose(f) == 0, "fclose");
    if (st !=
        NN_OK) { /* only a table without columns can't be written: the reader never makes one */
        fprintf(stderr, "nn_csv_write: %s\n", err.msg);
        FUZZ_CHECK(st == NN_OK, "a table read from CSV writes back");
    }
    const char **texts = calloc(t->n_cols + 1, sizeof *texts);
    FUZZ_CHECK(texts != NULL, "calloc");
    size_t n = 0;
    for (size_t c = 0; c < t->n_cols; c++)
        if (t->cols[c].type == NN_COL_TEXT) texts[n++] = t->cols[c].name;
    nn_csv_opts opts = {.name = "round-trip", .text_columns = texts};
    nn_table *back = NULL;
    st = nn_csv_read_mem(text, len, &opts, &back, &err);
    if (st != NN_OK) fprintf(stderr, "reading back:\n%s\n%s\n", text, err.msg);
    FUZZ_CHECK(st == NN_OK, "what nn_csv_write wrote reads back");
    FUZZ_CHECK(back->n_rows == t->n_rows && back->n_cols == t->n_cols, "same shape");
    for (size_t c = 0; c < t->n_cols; c++) {
        const nn_column *a = &t->cols[c], *b = &back->cols[c];
        FUZZ_CHECK(strcmp(a->name, b->name) == 0, "same column names");
        FUZZ_CHECK(a->type == b->type, "same column types");
        for (size_t i = 0; i < t->n_rows; i++) FUZZ_CHECK(same_cell(a, b, i), "same cells");
    }
    nn_table_destroy(back);
    free(texts);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned sel = data[0];
    nn_csv_opts opts;
    memset(&opts, 0, sizeof opts);
    if (sel & 1) opts.name = "fuzz.csv";
    if (sel & 2) opts.max_field = 16;
    if (sel & 4) opts.max_fields = 3;
    if (sel & 8) opts.max_rows = 2;
    switch ((sel >> 4) & 3) {
    case 1:
        opts.text_columns = text_a;
        break;
    case 2:
        opts.text_columns = text_id_zip;
        break;
    case 3:
        opts.text_columns = text_nosuch;
        break;
    default:
        break;
    }
    nn_table *t = NULL;
    nn_error err = {0};
    nn_status st = nn_csv_read_mem((const char *)data + 1, size - 1, &opts, &t, &err);
    if (st == NN_OK) {
        FUZZ_CHECK(t != NULL, "a table on success");
        check_table(t);
        round_trip(t);
        nn_table_destroy(t);
    } else {
        FUZZ_CHECK(err.code == st && err.msg[0], "a failure has a message");
        FUZZ_CHECK(memchr(err.msg, '\0', sizeof err.msg) != NULL, "the message is terminated");
    }
    return 0;
}
