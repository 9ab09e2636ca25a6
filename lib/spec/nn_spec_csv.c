/* nn_spec_csv.c — the one way to read a CSV for a spec: its text_columns and its id column are
 * read as text (where the header has them), whatever their values look like. Training data,
 * datasets planned by the server and rows to predict all come through here, so the list of
 * text columns is built in one place, with no cap on its length. */
#include "nn_spec.h"

#include <stdlib.h>
#include <string.h>

nn_status nn_spec_read_csv(const nn_spec *spec, const nn_csv_source *src, nn_table **out,
                           nn_error *err) {
    size_t n_extra = 0;
    while (src->text && src->text[n_extra]) n_extra++;
    size_t n = 0, cap = spec->n_text_columns + 1 + n_extra + 1;
    const char **text = calloc(cap, sizeof *text);
    if (!text) return nn_nomem(err, "out of memory reading a CSV");
    for (size_t i = 0; i < spec->n_text_columns; i++) text[n++] = spec->text_columns[i];
    if (spec->id) text[n++] = spec->id;
    for (size_t i = 0; i < n_extra; i++) text[n++] = src->text[i];
    text[n] = NULL;
    nn_csv_source with = *src;
    with.text = text;
    nn_status st = nn_csv_read_source(&with, out, err);
    free(text);
    return st;
}
