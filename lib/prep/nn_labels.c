/* nn_labels.c — a classification target's classes (see nn_labels.h). */
#include "nn_labels.h"

#include "nn_pipe_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void nn_labels_destroy(nn_labels *l) {
    if (!l) return;
    for (size_t i = 0; l->names && i < l->n; i++) free(l->names[i]);
    free(l->names);
    free(l->values);
    free(l->counts);
    free(l->by_name);
    free(l);
}

/* Allocates a set of n classes (names unset). */
static nn_labels *labels_new(size_t n, int numeric) {
    nn_labels *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->n = n;
    l->positive = n == 2 ? 1 : -1;
    l->names = calloc(n ? n : 1, sizeof *l->names);
    l->counts = calloc(n ? n : 1, sizeof *l->counts);
    l->by_name = malloc((n ? n : 1) * sizeof *l->by_name);
    l->values = numeric ? malloc((n ? n : 1) * sizeof *l->values) : NULL;
    if (!l->names || !l->counts || !l->by_name || (numeric && !l->values)) {
        nn_labels_destroy(l);
        return NULL;
    }
    return l;
}

/* Name of class i ("" while unset: a set being built). */
static const char *name_of(const nn_labels *l, size_t i) { return l->names[i] ? l->names[i] : ""; }

/* by_name: the classes in strcmp order of their names (insertion sort: n is small). */
static void index_names(nn_labels *l) {
    for (size_t i = 0; i < l->n; i++) {
        size_t j = i;
        for (; j > 0 && strcmp(name_of(l, l->by_name[j - 1]), name_of(l, i)) > 0; j--)
            l->by_name[j] = l->by_name[j - 1];
        l->by_name[j] = i;
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted distinct non-missing values of col at rows, with their counts. */
static nn_status fit_values(const nn_column *col, const size_t *rows, size_t n, nn_labels **out,
                            nn_error *err) {
    int num = col->type == NN_COL_NUMBER;
    void *v = malloc((n ? n : 1) * (num ? sizeof(double) : sizeof(char *)));
    if (!v) return nn_nomem(err, "out of memory for the classes");
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t r = rows ? rows[i] : i;
        if (num && !isnan(col->num[r])) ((double *)v)[m++] = col->num[r];
        if (!num && col->text[r]) ((char **)v)[m++] = col->text[r];
    }
    qsort(v, m, num ? sizeof(double) : sizeof(char *), num ? cmp_double : cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        k += i == 0 || (num ? ((double *)v)[i] != ((double *)v)[i - 1]
                            : strcmp(((char **)v)[i], ((char **)v)[i - 1]) != 0);
    if (k > NN_MAX_CLASSES) {
        free(v);
        return nn_error_set(err, NN_ERR_LIMIT, "%zu classes, over the limit of %d", k,
                            NN_MAX_CLASSES);
    }
    nn_labels *l = labels_new(k, num);
    nn_status st = l ? NN_OK : nn_nomem(err, "out of memory for the classes");
    for (size_t i = 0, c = 0; st == NN_OK && i < m; i++) {
        int same = i > 0 && (num ? ((double *)v)[i] == ((double *)v)[i - 1]
                                 : strcmp(((char **)v)[i], ((char **)v)[i - 1]) == 0);
        if (same) {
            l->counts[c - 1]++;
            continue;
        }
        char buf[40];
        if (num) {
            l->values[c] = ((double *)v)[i];
            nn__fmt_num(l->values[c], buf, sizeof buf);
        }
        if (!(l->names[c] = strdup(num ? buf : ((char **)v)[i])))
            st = nn_nomem(err, "out of memory for the classes");
        l->counts[c++] = 1;
    }
    free(v);
    if (st != NN_OK) {
        nn_labels_destroy(l);
        return st;
    }
    index_names(l);
    *out = l;
    return NN_OK;
}

nn_status nn_labels_fit(const nn_column *col, const size_t *rows, size_t n, nn_labels **out,
                        nn_error *err) {
    return fit_values(col, rows, n, out, err);
}

nn_status nn_labels_clone(const nn_labels *l, nn_labels **out, nn_error *err) {
    nn_labels *c = labels_new(l->n, l->values != NULL);
    if (!c) return nn_nomem(err, "out of memory for the classes");
    for (size_t i = 0; i < l->n; i++) {
        if (!(c->names[i] = strdup(l->names[i]))) {
            nn_labels_destroy(c);
            return nn_nomem(err, "out of memory for the classes");
        }
    }
    if (l->values) memcpy(c->values, l->values, l->n * sizeof *c->values);
    memcpy(c->counts, l->counts, l->n * sizeof *c->counts);
    memcpy(c->by_name, l->by_name, l->n * sizeof *c->by_name);
    c->positive = l->positive;
    *out = c;
    return NN_OK;
}

int nn_labels_find(const nn_labels *l, const char *label) {
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(l->names[l->by_name[mid]], label);
        if (c == 0) return (int)l->by_name[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int nn_labels_class(const nn_labels *l, const nn_column *col, size_t row) {
    if (col->type == NN_COL_TEXT) {
        const char *s = col->text[row];
        if (!s) return -1;
        int c = nn_labels_find(l, s);
        if (c < 0 && l->values) { /* "1.0" for the number label 1 */
            char *end = NULL;
            double v = strtod(s, &end);
            if (end != s && *end == '\0')
                for (size_t i = 0; i < l->n; i++)
                    if (l->values[i] == v) return (int)i;
        }
        return c >= 0 ? c : -2;
    }
    double v = col->num[row];
    if (isnan(v)) return -1;
    if (l->values) {
        size_t lo = 0, hi = l->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (l->values[mid] == v) return (int)mid;
            if (l->values[mid] < v)
                lo = mid + 1;
            else
                hi = mid;
        }
        return -2;
    }
    char buf[40];
    nn__fmt_num(v, buf, sizeof buf);
    int c = nn_labels_find(l, buf);
    return c >= 0 ? c : -2;
}

int nn_labels_set_positive(nn_labels *l, const char *label) {
    int c = nn_labels_find(l, label);
    if (c < 0 && l->values) {
        char *end = NULL;
        double v = strtod(label, &end);
        for (size_t i = 0; end != label && *end == '\0' && i < l->n; i++)
            if (l->values[i] == v) c = (int)i;
    }
    if (c < 0 || l->n != 2) return -1;
    l->positive = c;
    return 0;
}

void nn_labels_target(const nn_labels *l, int c, nn_float *y) {
    if (l->n == 2) {
        y[0] = c == l->positive ? (nn_float)1 : (nn_float)0;
        return;
    }
    for (size_t j = 0; j < l->n; j++) y[j] = (int)j == c ? (nn_float)1 : (nn_float)0;
}

void nn_labels_probs(const nn_labels *l, const double *net_prob, double *prob) {
    if (l->n == 2) {
        prob[l->positive] = net_prob[1];
        prob[1 - l->positive] = net_prob[0];
        return;
    }
    memcpy(prob, net_prob, l->n * sizeof *prob);
}

json_t *nn_labels_to_json(const nn_labels *l) {
    json_t *classes = json_array();
    for (size_t i = 0; classes && i < l->n; i++)
        if (json_array_append_new(classes, json_string(l->names[i])) != 0) {
            json_decref(classes);
            return NULL;
        }
    json_t *o = json_pack("{s:o, s:b}", "classes", classes, "numeric", l->values != NULL);
    if (o && l->n == 2 &&
        json_object_set_new(o, "positive", json_string(l->names[l->positive])) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

nn_status nn_labels_from_json(const json_t *o, nn_labels **out, nn_error *err) {
    const json_t *classes = json_object_get(o, "classes");
    size_t n = json_array_size(classes);
    if (!json_is_array(classes) || n < 2 || n > NN_MAX_CLASSES)
        return nn_error_set(err, NN_ERR_PARSE, "/classes: must be a list of 2 to %d labels",
                            NN_MAX_CLASSES);
    int numeric = json_is_true(json_object_get(o, "numeric"));
    nn_labels *l = labels_new(n, numeric);
    if (!l) return nn_nomem(err, "out of memory for the classes");
    nn_status st = NN_OK;
    for (size_t i = 0; st == NN_OK && i < n; i++) {
        const char *s = json_string_value(json_array_get(classes, i));
        if (!s) {
            st = nn_error_set(err, NN_ERR_PARSE, "/classes/%zu: not a label", i);
            break;
        }
        if (!(l->names[i] = strdup(s))) {
            st = nn_nomem(err, "out of memory");
            break;
        }
        char *end = NULL;
        double v = numeric ? strtod(s, &end) : 0;
        if (numeric && (end == s || *end != '\0')) {
            st = nn_error_set(err, NN_ERR_PARSE, "/classes/%zu: not a number label", i);
            break;
        }
        if (numeric) l->values[i] = v;
        int sorted = i == 0 || (numeric ? v > l->values[i - 1] : strcmp(l->names[i - 1], s) < 0);
        if (!sorted) st = nn_error_set(err, NN_ERR_PARSE, "/classes/%zu: not in sorted order", i);
    }
    if (st == NN_OK) index_names(l);
    const char *pos = json_string_value(json_object_get(o, "positive"));
    if (st == NN_OK && n == 2 && (!pos || nn_labels_set_positive(l, pos) != 0))
        st = nn_error_set(err, NN_ERR_PARSE, "/positive: must be one of the two classes");
    if (st != NN_OK) {
        nn_labels_destroy(l);
        return st;
    }
    *out = l;
    return NN_OK;
}
