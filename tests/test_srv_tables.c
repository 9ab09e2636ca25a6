/* test_srv_tables.c — the cache of parsed datasets: one parse per key, references that outlive a
 * delete and an eviction, the byte budget, a missing file reported as not found. */
#include "check.h"
#include "srv_fixture.h"
#include "srv_tables.h"

/* A spec reading the named column as text (NULL: none). */
static nn_spec *text_spec(const char *column) {
    char doc[256];
    (void)snprintf(doc, sizeof doc, "{\"target\": \"y\", \"training\": {\"epochs\": 1}%s%s%s}",
                   column ? ", \"text_columns\": [\"" : "", column ? column : "",
                   column ? "\"]" : "");
    nn_spec *spec = NULL;
    nn_spec_errors errs;
    CHECK(nn_spec_parse(doc, strlen(doc), &spec, &errs) == NN_OK);
    return spec;
}

#include <pthread.h>

/* A dataset whose file holds rows rows of "x,y,t"; its id in id. */
static void make_dataset(srv_store *s, char c, int rows, char id[SRV_ID_LEN + 1]) {
    CHECK(fixture_dataset(s, "t.csv", c, id) == NN_OK);
    char sha[65], path[256];
    fixture_sha(sha, c);
    srv_dataset_path(s, sha, path, sizeof path);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fprintf(f, "x,y,t\n") > 0);
    for (int i = 0; i < rows; i++) CHECK(fprintf(f, "%d,%d,a%d\n", i, 2 * i, i % 5) > 0);
    CHECK(fclose(f) == 0);
}

static void test_tables_parse_once_and_share(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    if (!s) return;
    char id[SRV_ID_LEN + 1];
    make_dataset(s, 'a', 100, id);
    srv_tables *c = NULL;
    nn_error err = {0};
    CHECK(srv_tables_create(1 << 20, &c, &err) == NN_OK);
    srv_table_ref *a = NULL, *b = NULL, *other = NULL;
    CHECK(srv_tables_acquire(c, s, id, NULL, &a, &err) == NN_OK);
    CHECK(srv_tables_acquire(c, s, id, NULL, &b, &err) == NN_OK);
    CHECK(a == b); /* one table for one key */
    CHECK(srv_table_ref_table(a)->n_rows == 100);
    nn_spec *text = text_spec("x");
    CHECK(srv_tables_acquire(c, s, id, text, &other, &err) == NN_OK);
    nn_spec_destroy(text);
    CHECK(other != a); /* another text-column set, another table */
    CHECK(srv_table_ref_table(other)->cols[0].type == NN_COL_TEXT);
    int64_t bytes = 0;
    long long hits = 0, misses = 0;
    srv_tables_stats(c, &bytes, &hits, &misses);
    CHECK(hits == 1 && misses == 2);
    CHECK(bytes ==
          srv_table_bytes(srv_table_ref_table(a)) + srv_table_bytes(srv_table_ref_table(other)));
    /* a delete forgets the dataset; the references held stay valid until released */
    srv_tables_forget(c, id);
    srv_tables_stats(c, &bytes, NULL, NULL);
    CHECK(bytes == 0);
    CHECK(srv_table_ref_table(a)->n_rows == 100);
    srv_tables_release(c, a);
    CHECK(srv_table_ref_table(b)->n_rows == 100);
    srv_tables_release(c, b);
    srv_tables_release(c, other);
    srv_tables_destroy(c);
    srv_store_close(s);
    fixture_rm_tree(root);
}

static void test_tables_budget_and_missing_file(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    if (!s) return;
    char id1[SRV_ID_LEN + 1], id2[SRV_ID_LEN + 1];
    make_dataset(s, 'b', 1000, id1);
    make_dataset(s, 'c', 1000, id2);
    srv_tables *c = NULL;
    nn_error err = {0};
    srv_table_ref *r = NULL;
    CHECK(srv_tables_create(1 << 20, &c, &err) == NN_OK);
    CHECK(srv_tables_acquire(c, s, id1, NULL, &r, &err) == NN_OK);
    int64_t one = srv_table_bytes(srv_table_ref_table(r));
    srv_tables_release(c, r);
    srv_tables_destroy(c);
    /* room for one table: the second evicts the first once it is released */
    CHECK(srv_tables_create(one + one / 2, &c, &err) == NN_OK);
    CHECK(srv_tables_acquire(c, s, id1, NULL, &r, &err) == NN_OK);
    srv_tables_release(c, r);
    CHECK(srv_tables_acquire(c, s, id2, NULL, &r, &err) == NN_OK);
    srv_tables_release(c, r);
    int64_t bytes = 0;
    long long hits = 0, misses = 0;
    srv_tables_stats(c, &bytes, &hits, &misses);
    CHECK(bytes <= one + one / 2 && bytes > 0);
    CHECK(srv_tables_acquire(c, s, id1, NULL, &r, &err) == NN_OK); /* parsed again */
    srv_tables_release(c, r);
    srv_tables_stats(c, NULL, &hits, &misses);
    CHECK(hits == 0 && misses == 3);
    /* a dataset whose file is gone (deleted meanwhile) is not found, not an I/O error */
    char sha[65], path[256];
    fixture_sha(sha, 'c');
    srv_dataset_path(s, sha, path, sizeof path);
    CHECK(unlink(path) == 0);
    srv_tables_forget(c, id2);
    CHECK(srv_tables_acquire(c, s, id2, NULL, &r, &err) == NN_ERR_NOT_FOUND);
    CHECK(srv_tables_acquire(c, s, "0123456789abcdef0123456789abcdef", NULL, &r, &err) ==
          NN_ERR_NOT_FOUND);
    /* a text column the file lacks is no error of the reader's (the plan reports it) */
    nn_spec *text = text_spec("nope");
    CHECK(srv_tables_acquire(c, s, id1, text, &r, &err) == NN_OK);
    srv_tables_release(c, r);
    nn_spec_destroy(text);
    srv_tables_destroy(c);
    /* budget 0: nothing kept, every request parses */
    CHECK(srv_tables_create(0, &c, &err) == NN_OK);
    CHECK(srv_tables_acquire(c, s, id1, NULL, &r, &err) == NN_OK);
    srv_tables_release(c, r);
    srv_tables_stats(c, &bytes, NULL, NULL);
    CHECK(bytes == 0);
    srv_tables_destroy(c);
    srv_store_close(s);
    fixture_rm_tree(root);
}

#define READERS 8

struct reader {
    const char *data;
    const char *id;
    srv_tables *c;
    size_t rows;
    int failures;
};

static void *reader_main(void *arg) {
    struct reader *r = arg;
    srv_store *s = NULL;
    nn_error err = {0};
    if (srv_store_open(NULL, r->data, &s, &err) != NN_OK) {
        r->failures++;
        return NULL;
    }
    srv_table_ref *ref = NULL;
    if (srv_tables_acquire(r->c, s, r->id, NULL, &ref, &err) == NN_OK) {
        r->rows = srv_table_ref_table(ref)->n_rows;
        srv_tables_release(r->c, ref);
    } else {
        r->failures++;
    }
    srv_store_close(s);
    return NULL;
}

/* Eight requests for one dataset at once: one parse, the others wait for it. */
static void test_tables_load_once_under_concurrency(void) {
    char root[64], data[80];
    CHECK(fixture_dirs(root, data));
    srv_store *s = fixture_open(data);
    if (!s) return;
    char id[SRV_ID_LEN + 1];
    make_dataset(s, 'd', 50000, id);
    srv_tables *c = NULL;
    nn_error err = {0};
    CHECK(srv_tables_create((int64_t)64 << 20, &c, &err) == NN_OK);
    struct reader r[READERS];
    pthread_t t[READERS];
    for (int i = 0; i < READERS; i++) {
        r[i] = (struct reader){data, id, c, 0, 0};
        CHECK(pthread_create(&t[i], NULL, reader_main, &r[i]) == 0);
    }
    for (int i = 0; i < READERS; i++) {
        pthread_join(t[i], NULL);
        CHECK(r[i].failures == 0 && r[i].rows == 50000);
    }
    long long hits = 0, misses = 0;
    srv_tables_stats(c, NULL, &hits, &misses);
    CHECK(misses == 1 && hits == READERS - 1);
    srv_tables_destroy(c);
    srv_store_close(s);
    fixture_rm_tree(root);
}

int main(void) {
    RUN(test_tables_parse_once_and_share);
    RUN(test_tables_budget_and_missing_file);
    RUN(test_tables_load_once_under_concurrency);
    return check_summary();
}
