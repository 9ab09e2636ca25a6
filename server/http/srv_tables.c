/* srv_tables.c — the cache of parsed datasets (see srv_tables.h DESIGN). */
#include "srv_tables.h"

#include "nn_csv.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MALLOC_OVERHEAD 16 /* bytes a small allocation costs beyond its size (glibc) */

struct srv_table_ref {
    char dataset[SRV_ID_LEN + 1];
    char *key; /* the text columns, sorted, each NUL-terminated; key_len bytes */
    size_t key_len;
    nn_table *table; /* NULL while loading, or after a failed load */
    int64_t bytes;
    int refs;          /* guarded by the cache's mutex, as every field below */
    int loading;       /* being loaded by the request that created it; others wait */
    int indexed;       /* in the cache's list (findable) */
    int counted;       /* its bytes are in the cache's total */
    nn_error load_err; /* a failed load, for the requests that waited for it */
    int64_t last_used; /* a tick of the cache's clock */
    struct srv_table_ref *next;
};

struct srv_tables {
    pthread_mutex_t mu;
    pthread_cond_t loaded; /* an entry finished loading */
    srv_table_ref *head;   /* indexed entries */
    int64_t budget, bytes; /* bytes: of the indexed, loaded entries */
    int64_t clock;
    long long hits, misses;
};

int64_t srv_table_bytes(const nn_table *t) {
    int64_t b = (int64_t)sizeof *t;
    for (size_t c = 0; c < t->n_cols; c++) {
        const nn_column *col = &t->cols[c];
        b += (int64_t)sizeof *col + (int64_t)strlen(col->name) + 1 + MALLOC_OVERHEAD;
        b += (int64_t)t->n_rows * 8 + MALLOC_OVERHEAD; /* the doubles or the pointers */
        for (size_t i = 0; col->type == NN_COL_TEXT && i < t->n_rows; i++)
            if (col->text[i]) b += (int64_t)strlen(col->text[i]) + 1 + MALLOC_OVERHEAD;
    }
    return b;
}

nn_status srv_tables_create(int64_t budget, srv_tables **out, nn_error *err) {
    srv_tables *c = calloc(1, sizeof *c);
    if (!c) return nn_error_set(err, NN_ERR_NOMEM, "out of memory for the table cache");
    c->budget = budget;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->loaded, NULL);
    *out = c;
    return NN_OK;
}

static void ref_free(srv_table_ref *r) {
    nn_table_destroy(r->table);
    free(r->key);
    free(r);
}

void srv_tables_destroy(srv_tables *c) {
    if (!c) return;
    while (c->head) { /* every request has ended: no references are left */
        srv_table_ref *r = c->head;
        c->head = r->next;
        ref_free(r);
    }
    pthread_cond_destroy(&c->loaded);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The key of a spec's text columns and id: the distinct names sorted, each NUL-terminated
 * (malloc'd; none is a 1-byte key). NULL when out of memory. */
static char *make_key(const nn_spec *spec, size_t *len) {
    size_t n = 0, bytes = 1;
    size_t max = spec ? spec->n_text_columns + 1 : 0;
    const char **sorted = malloc((max ? max : 1) * sizeof *sorted);
    for (size_t i = 0; sorted && spec && i < spec->n_text_columns; i++)
        sorted[n++] = spec->text_columns[i];
    if (sorted && spec && spec->id) sorted[n++] = spec->id;
    for (size_t i = 0; i < n; i++) bytes += strlen(sorted[i]) + 1;
    char *key = malloc(bytes);
    if (!sorted || !key) {
        free(sorted);
        free(key);
        return NULL;
    }
    qsort(sorted, n, sizeof *sorted, cmp_str);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && strcmp(sorted[i], sorted[i - 1]) == 0) continue;
        size_t k = strlen(sorted[i]) + 1;
        memcpy(key + at, sorted[i], k);
        at += k;
    }
    if (at == 0) key[at++] = '\0';
    free(sorted);
    *len = at;
    return key;
}

/* The indexed entry for (dataset, key); c->mu held. */
static srv_table_ref *find(srv_tables *c, const char *dataset, const char *key, size_t len) {
    for (srv_table_ref *r = c->head; r; r = r->next)
        if (r->key_len == len && memcmp(r->key, key, len) == 0 && !strcmp(r->dataset, dataset))
            return r;
    return NULL;
}

/* Takes the entry *link points at (the list's head or an entry's next) out of the index; mu
 * held. */
static void unlink_at(srv_tables *c, srv_table_ref **link) {
    srv_table_ref *r = *link;
    *link = r->next;
    r->next = NULL;
    r->indexed = 0;
    if (r->counted) c->bytes -= r->bytes;
    r->counted = 0;
}

/* Takes r out of the index, if it is in it; c->mu held. */
static void unindex(srv_tables *c, srv_table_ref *r) {
    for (srv_table_ref **p = &c->head; r->indexed && *p; p = &(*p)->next) {
        if (*p == r) {
            unlink_at(c, p);
            return;
        }
    }
}

/* Drops one reference; frees r when it was the last one and r is out of the index; mu held. */
static void unref(srv_table_ref *r) {
    if (--r->refs == 0 && !r->indexed) ref_free(r);
}

/* Evicts least recently used unreferenced tables until the kept ones fit; c->mu held. */
static void evict(srv_tables *c) {
    while (c->bytes > c->budget) {
        srv_table_ref **victim = NULL;
        for (srv_table_ref **p = &c->head; *p; p = &(*p)->next) {
            const srv_table_ref *r = *p;
            if (r->refs == 0 && r->table && (!victim || r->last_used < (*victim)->last_used))
                victim = p;
        }
        if (!victim) return; /* every table is in use: over budget until they are released */
        srv_table_ref *r = *victim;
        unlink_at(c, victim);
        ref_free(r);
    }
}

/* Parses the dataset's file; NN_ERR_NOT_FOUND when the dataset or its file is gone. */
static nn_status load(srv_store *s, const char *dataset, const nn_spec *spec, nn_table **out,
                      nn_error *err) {
    srv_dataset ds;
    memset(&ds, 0, sizeof ds);
    nn_status st = srv_dataset_get(s, dataset, &ds, err);
    if (st != NN_OK) return st;
    char path[1400];
    st = srv_dataset_file(s, ds.sha256, path, sizeof path, err);
    srv_dataset_free(&ds);
    if (st != NN_OK) return st;
    nn_csv_source src = {.path = path, .name = "dataset"};
    st = spec ? nn_spec_read_csv(spec, &src, out, err) : nn_csv_read_source(&src, out, err);
    /* the file goes only with its dataset (srv_dataset_delete removes it in its transaction) */
    if (st == NN_ERR_IO && access(path, F_OK) != 0 && errno == ENOENT)
        return nn_error_set(err, NN_ERR_NOT_FOUND, "dataset %s was deleted", dataset);
    return st;
}

nn_status srv_tables_acquire(srv_tables *c, srv_store *s, const char *dataset_id,
                             const nn_spec *spec, srv_table_ref **out, nn_error *err) {
    size_t key_len = 0;
    char *key = make_key(spec, &key_len);
    if (!key) return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    pthread_mutex_lock(&c->mu);
    srv_table_ref *r = find(c, dataset_id, key, key_len);
    if (r) {
        free(key);
        r->refs++;
        while (r->loading) pthread_cond_wait(&c->loaded, &c->mu);
        if (!r->table) { /* the load this request waited for failed: the same answer */
            nn_status st = r->load_err.code;
            if (err) *err = r->load_err;
            unref(r);
            pthread_mutex_unlock(&c->mu);
            return st;
        }
        r->last_used = ++c->clock;
        c->hits++;
        pthread_mutex_unlock(&c->mu);
        *out = r;
        return NN_OK;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        pthread_mutex_unlock(&c->mu);
        free(key);
        return nn_error_set(err, NN_ERR_NOMEM, "out of memory");
    }
    (void)snprintf(r->dataset, sizeof r->dataset, "%s", dataset_id);
    r->key = key;
    r->key_len = key_len;
    r->refs = 1;
    r->loading = 1;
    r->indexed = 1;
    r->next = c->head;
    c->head = r;
    c->misses++;
    pthread_mutex_unlock(&c->mu);

    nn_table *t = NULL;
    nn_error lerr = {0};
    nn_status st = load(s, dataset_id, spec, &t, &lerr);
    int64_t bytes = st == NN_OK ? srv_table_bytes(t) : 0;

    pthread_mutex_lock(&c->mu);
    r->loading = 0;
    if (st != NN_OK) {
        r->load_err = lerr;
        unindex(c, r); /* a failure is not kept: the next request tries again */
    } else {
        r->table = t;
        r->bytes = bytes;
        r->last_used = ++c->clock;
        if (r->indexed && bytes <= c->budget) {
            c->bytes += bytes;
            r->counted = 1;
            evict(c);
        } else {
            unindex(c, r); /* forgotten while loading, or too large to keep */
        }
    }
    pthread_cond_broadcast(&c->loaded);
    if (st != NN_OK) unref(r);
    pthread_mutex_unlock(&c->mu);
    if (st != NN_OK) {
        if (err) *err = lerr;
        return st;
    }
    *out = r;
    return NN_OK;
}

const nn_table *srv_table_ref_table(const srv_table_ref *ref) { return ref->table; }

void srv_tables_release(srv_tables *c, srv_table_ref *ref) {
    if (!ref) return;
    pthread_mutex_lock(&c->mu);
    int indexed = ref->indexed;
    unref(ref);
    if (indexed) evict(c); /* it may have been kept over budget while in use */
    pthread_mutex_unlock(&c->mu);
}

void srv_tables_forget(srv_tables *c, const char *dataset_id) {
    pthread_mutex_lock(&c->mu);
    for (srv_table_ref **p = &c->head; *p;) {
        srv_table_ref *r = *p;
        if (strcmp(r->dataset, dataset_id) != 0) {
            p = &r->next;
            continue;
        }
        unlink_at(c, p); /* *p is now the next entry */
        if (r->refs == 0) ref_free(r);
    }
    pthread_mutex_unlock(&c->mu);
}

void srv_tables_stats(srv_tables *c, int64_t *bytes, long long *hits, long long *misses) {
    pthread_mutex_lock(&c->mu);
    if (bytes) *bytes = c->bytes;
    if (hits) *hits = c->hits;
    if (misses) *misses = c->misses;
    pthread_mutex_unlock(&c->mu);
}
