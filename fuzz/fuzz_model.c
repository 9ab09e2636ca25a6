/* fuzz_model.c — libFuzzer harness for the model-file loader (nn_model_from_json).
 *
 * When a document loads, the model predicts a fixed three-row King County table (read through
 * the model's schema, nn_model_read_csv); a prediction either fails with a message or gives
 * n_rows × n_targets values. A model that loads also serializes, and the serialized text loads
 * again. */
#include "fuzz_common.h"
#include "nn_model.h"

#include <string.h>

static void predict_fixed(nn_model *m) {
    const nn_spec *spec = nn_model_spec(m);
    nn_csv_source src = {.buf = fuzz_kc_rows, .len = sizeof fuzz_kc_rows - 1, .name = "kc3"};
    nn_table *t = NULL;
    nn_error err = {0};
    FUZZ_CHECK(nn_model_read_csv(m, &src, &t, &err) == NN_OK, err.msg);
    double *y = NULL;
    if (nn_model_predict(m, t, &y, &err) == NN_OK) {
        FUZZ_CHECK(y != NULL || t->n_rows * spec->n_targets == 0, "predictions on success");
        volatile double sink = 0;
        for (size_t i = 0; i < t->n_rows * spec->n_targets; i++) sink += y[i]; /* all readable */
        (void)sink;
        free(y);
    } else {
        FUZZ_CHECK(err.msg[0], "a failed prediction says why");
    }
    nn_table_destroy(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nn_model *m = NULL;
    nn_error err = {0};
    if (nn_model_from_json((const char *)data, size, &m, &err) != NN_OK) {
        FUZZ_CHECK(m == NULL && err.msg[0], "a refused model says why");
        return 0;
    }
    FUZZ_CHECK(nn_model_n_nets(m) >= 1, "a model has a network");
    char *json = nn_model_to_json(m);
    FUZZ_CHECK(json != NULL, "a loaded model serializes");
    nn_model *again = NULL;
    if (nn_model_from_json(json, strlen(json), &again, &err) != NN_OK)
        fprintf(stderr, "re-loading the serialized model: %s\n", err.msg);
    FUZZ_CHECK(again != NULL, "a serialized model loads again");
    nn_model_destroy(again);
    free(json);
    predict_fixed(m);
    nn_model_destroy(m);
    return 0;
}
