/* test_spec — spec parsing: the seed example, defaults, every error path with its exact JSON
 * pointer, limits checked before allocation, and the canonical form's hash. */
#include "check.h"
#include "nn_sha256.h"
#include "nn_spec.h"

#include <stdlib.h>

/* Test documents are written with ' for " to stay readable; q() swaps them into buf. */
static const char *q(const char *text, char *buf, size_t cap) {
    size_t n = strlen(text);
    if (n >= cap) n = cap - 1;
    for (size_t i = 0; i < n; i++) buf[i] = text[i] == '\'' ? '"' : text[i];
    buf[n] = '\0';
    return buf;
}

static nn_status parse_q(const char *text, nn_spec **out, nn_spec_errors *errs) {
    char buf[4096];
    q(text, buf, sizeof buf);
    return nn_spec_parse(buf, strlen(buf), out, errs);
}

/* Index of the first error at exactly pointer whose message contains substr, or -1. */
static int find_error(const nn_spec_errors *errs, const char *pointer, const char *substr) {
    for (size_t i = 0; i < errs->n; i++)
        if (strcmp(errs->items[i].pointer, pointer) == 0 && strstr(errs->items[i].message, substr))
            return (int)i;
    return -1;
}

static void dump_errors(const char *doc, const nn_spec_errors *errs) {
    fprintf(stderr, "  in %s\n", doc);
    for (size_t i = 0; i < errs->n; i++)
        fprintf(stderr, "    \"%s\": %s\n", errs->items[i].pointer, errs->items[i].message);
}

static const char *source_path(const char *rel, char *buf, size_t cap) {
    const char *dir = getenv("NN_SOURCE_DIR");
    (void)snprintf(buf, cap, "%s/%s", dir ? dir : "..", rel);
    return buf;
}

static void test_spec_seed_example(void) {
    char path[1024];
    nn_spec *s = NULL;
    nn_spec_errors errs;
    nn_status st = nn_spec_parse_file(source_path("examples/kc_house_seed.json", path, sizeof path),
                                      &s, &errs);
    CHECK(st == NN_OK);
    if (st != NN_OK) {
        dump_errors(path, &errs);
        return;
    }
    CHECK_STR(s->name, "kc-house-seed");
    CHECK(s->seed == 42);
    CHECK(s->n_targets == 1);
    CHECK_STR(s->targets[0], "price");
    CHECK_STR(s->id, "id");
    CHECK(s->n_text_columns == 0);
    CHECK(s->n_hidden == 8);
    for (int i = 0; i < s->n_hidden; i++) {
        CHECK(s->hidden[i].units == 16);
        CHECK(s->hidden[i].act == NN_ACT_RELU);
        CHECK(s->hidden[i].weight_init == NN_INIT_GLOROT_UNIFORM);
        CHECK(s->hidden[i].bias_init == NN_INIT_ZEROS);
        CHECK(s->hidden[i].dropout == 0 && s->hidden[i].l2 == 0);
    }
    CHECK(s->output.units == 1);
    CHECK(s->output.act == NN_ACT_LINEAR);
    CHECK(s->epochs == 300);
    CHECK(s->batch_size == 128);
    CHECK(s->loss.kind == NN_LOSS_MSE);
    CHECK(s->optim.kind == NN_OPTIM_MOMENTUM);
    CHECK_NEAR(s->optim.learning_rate, 0.128, 0);
    CHECK_NEAR(s->optim.momentum, 0.9, 0);
    CHECK(!s->optim.nesterov);
    CHECK(s->sched.kind == NN_SCHED_CONSTANT);
    CHECK(s->validation == NN_VAL_KFOLD);
    CHECK(s->k == 8);
    CHECK(s->es_patience == 0 && s->rp_patience == 0);
    CHECK(s->final == NN_FINAL_REFIT);
    CHECK(s->importance_repeats == 0);

    CHECK(s->n_steps == 6);
    if (s->n_steps != 6) goto out;
    const nn_step *st0 = &s->steps[0], *d = &s->steps[1], *r = &s->steps[2];
    CHECK(st0->op == NN_OP_DROP && st0->cols.kind == NN_SEL_LIST && st0->cols.n_names == 3);
    if (st0->cols.n_names == 3) {
        CHECK_STR(st0->cols.names[0], "zipcode");
        CHECK_STR(st0->cols.names[2], "sqft_lot15");
    }
    CHECK(d->op == NN_OP_DATE && d->cols.kind == NN_SEL_LIST && d->cols.n_names == 1);
    if (d->cols.n_names == 1) CHECK_STR(d->cols.names[0], "date");
    CHECK_STR(d->format, "%Y%m%dT%H%M%S");
    CHECK(d->extract == (NN_DATE_TIMESTAMP | NN_DATE_MONTH));
    CHECK(d->keep == 0);
    CHECK(r->op == NN_OP_REPLACE && r->cols.n_names == 1);
    if (r->cols.n_names == 1) CHECK_STR(r->cols.names[0], "yr_renovated");
    CHECK(r->equal == 0 && !r->equal_missing);
    CHECK_STR(r->with_column, "yr_built");
    CHECK(s->steps[3].op == NN_OP_LOG10 && s->steps[3].cols.n_names == 3);
    if (s->steps[3].cols.n_names == 3) CHECK_STR(s->steps[3].cols.names[2], "price");
    CHECK(s->steps[4].op == NN_OP_SQUARE && s->steps[4].cols.kind == NN_SEL_INPUTS);
    CHECK(s->steps[5].op == NN_OP_NORMALIZE && s->steps[5].cols.kind == NN_SEL_ALL);
    CHECK(s->steps[5].method == NN_NORM_MINMAX);
    CHECK_STR(nn_op_name(s->steps[5].op), "normalize");

    /* "repeat" stays as written in the canonical form; the hash is its SHA-256 */
    CHECK_CONTAINS(s->canonical, "\"repeat\":8");
    CHECK_CONTAINS(s->canonical, "\"columns\":[\"date\"]");
    CHECK(strlen(s->hash) == 64 && strspn(s->hash, "0123456789abcdef") == 64);
out:
    nn_spec_destroy(s);
}

static void test_spec_defaults(void) {
    nn_spec *s = NULL;
    nn_spec_errors errs;
    CHECK(parse_q("{'target': ['a', 'b'], 'training': {'epochs': 3}}", &s, &errs) == NN_OK);
    if (!s) return;
    CHECK_STR(s->name, "unnamed");
    CHECK(s->seed == 0 && s->id == NULL && s->n_steps == 0 && s->n_hidden == 0);
    CHECK(s->n_targets == 2 && s->output.units == 2 && s->output.act == NN_ACT_LINEAR);
    CHECK(s->output.weight_init == NN_INIT_GLOROT_UNIFORM && s->output.bias_init == NN_INIT_ZEROS);
    CHECK(s->batch_size == 32 && s->loss.kind == NN_LOSS_MSE);
    CHECK(s->optim.kind == NN_OPTIM_ADAM);
    CHECK_NEAR(s->optim.learning_rate, 0.001, 0);
    CHECK_NEAR(s->optim.beta2, 0.999, 0);
    CHECK(s->sched.kind == NN_SCHED_CONSTANT);
    CHECK(s->validation == NN_VAL_KFOLD && s->k == 5);
    CHECK(s->final == NN_FINAL_REFIT && s->es_patience == 0 && s->rp_patience == 0);
    nn_spec_destroy(s);
}

static void test_spec_stop_at(void) {
    nn_spec *s = NULL;
    nn_spec_errors errs;
    CHECK(parse_q("{'target': 'y', 'training': {'epochs': 30, 'stop_at': 10}}", &s, &errs) ==
          NN_OK);
    if (s) {
        CHECK(s->epochs == 30 && s->stop_at == 10);
        CHECK_CONTAINS(s->canonical, "\"stop_at\":10");
    }
    nn_spec_destroy(s);
    s = NULL;
    CHECK(parse_q("{'target': 'y', 'training': {'epochs': 30}}", &s, &errs) == NN_OK);
    if (s) {
        CHECK(s->stop_at == 0);
        CHECK(strstr(s->canonical, "stop_at") == NULL); /* absent stays absent: same hash */
    }
    nn_spec_destroy(s);
    s = NULL;
    CHECK(parse_q("{'target': 'y', 'training': {'epochs': 30, 'stop_at': 31}}", &s, &errs) ==
          NN_ERR_SPEC);
    CHECK(errs.n == 1);
    if (errs.n) {
        CHECK_STR(errs.items[0].pointer, "/training/stop_at");
        CHECK_STR(errs.items[0].message, "must be at most epochs (30)");
    }
    nn_spec_destroy(s);
}

static void test_spec_layer_defaults_and_overrides(void) {
    nn_spec *s = NULL;
    nn_spec_errors errs;
    const char *doc = "{'target': 'y', 'training': {'epochs': 3, 'loss': {'type': 'huber'},"
                      " 'optimizer': {'type': 'adamw', 'weight_decay': 0.1},"
                      " 'schedule': {'type': 'cosine', 'min_lr': 1e-5},"
                      " 'validation': {'type': 'holdout'},"
                      " 'early_stopping': {'patience': 7}, 'reduce_on_plateau': {'patience': 3},"
                      " 'importance': {'repeats': 4}},"
                      " 'network': {'dropout': 0.25, 'l2': 0.01, 'init': {'weights': 'he_normal'},"
                      "  'hidden': [{'units': 4, 'repeat': 2}, {'units': 3, 'activation': 'tanh',"
                      "   'dropout': 0, 'l2': 0.5, 'init': {'biases': 'uniform'}}],"
                      "  'output': {'activation': 'sigmoid'}}}";
    CHECK(parse_q(doc, &s, &errs) == NN_OK);
    if (!s) {
        dump_errors(doc, &errs);
        return;
    }
    CHECK(s->n_hidden == 3);
    CHECK(s->hidden[0].units == 4 && s->hidden[1].units == 4 && s->hidden[2].units == 3);
    CHECK(s->hidden[0].act == NN_ACT_RELU && s->hidden[2].act == NN_ACT_TANH);
    CHECK_NEAR(s->hidden[1].dropout, 0.25, 0);
    CHECK_NEAR(s->hidden[1].l2, 0.01, 0);
    CHECK_NEAR(s->hidden[2].dropout, 0, 0);
    CHECK_NEAR(s->hidden[2].l2, 0.5, 0);
    CHECK(s->hidden[0].weight_init == NN_INIT_HE_NORMAL && s->hidden[0].bias_init == NN_INIT_ZEROS);
    CHECK(s->hidden[2].weight_init == NN_INIT_HE_NORMAL &&
          s->hidden[2].bias_init == NN_INIT_UNIFORM);
    CHECK(s->output.act == NN_ACT_SIGMOID && s->output.dropout == 0);
    CHECK_NEAR(s->output.l2, 0.01, 0);
    CHECK(s->loss.kind == NN_LOSS_HUBER && s->loss.delta == 1);
    CHECK(s->optim.kind == NN_OPTIM_ADAMW);
    CHECK_NEAR(s->optim.weight_decay, 0.1, 0);
    CHECK(s->sched.kind == NN_SCHED_COSINE && s->sched.steps == 3);
    CHECK_NEAR(s->sched.min_lr, 1e-5, 0);
    CHECK(s->validation == NN_VAL_HOLDOUT);
    CHECK_NEAR(s->holdout, 0.2, 0);
    CHECK(s->es_patience == 7 && s->es_monitor == NN_MONITOR_VAL_LOSS && s->es_restore_best);
    CHECK(s->rp_patience == 3);
    CHECK_NEAR(s->rp_factor, 0.5, 0);
    CHECK(s->importance_repeats == 4);

    nn_layer_cfg layers[4];
    nn_net_cfg cfg;
    nn_spec_net_cfg(s, 11, 1, layers, &cfg);
    CHECK(cfg.n_inputs == 11 && cfg.n_layers == 4 && cfg.layers == layers);
    CHECK(layers[3].units == 1 && layers[3].act == NN_ACT_SIGMOID && layers[2].units == 3);
    CHECK(nn_net_cfg_param_count(&cfg) == (size_t)(11 * 4 + 4 + 4 * 4 + 4 + 4 * 3 + 3 + 3 + 1));
    nn_spec_destroy(s);
}

static void test_spec_step_fields(void) {
    nn_spec *s = NULL;
    nn_spec_errors errs;
    const char *doc =
        "{'target': 'y', 'training': {'epochs': 1}, 'preprocess': ["
        " {'op': 'replace', 'columns': ['a', 'b'], 'equal': null, 'with': -1.5},"
        " {'op': 'filter_outliers', 'columns': {'select': 'inputs', 'except': ['c']}, 'k': 3},"
        " {'op': 'one_hot', 'column': 'city', 'max_categories': 20},"
        " {'op': 'impute', 'columns': 'target', 'strategy': 'constant', 'value': 0},"
        " {'op': 'normalize', 'columns': 'inputs', 'method': 'zscore'},"
        " {'op': 'date', 'columns': ['d'], 'format': '%d %b %y', 'extract': ['yearday', 'year'],"
        "  'keep': true}]}";
    CHECK(parse_q(doc, &s, &errs) == NN_OK);
    if (!s) {
        dump_errors(doc, &errs);
        return;
    }
    CHECK(s->n_steps == 6);
    const nn_step *st = s->steps;
    CHECK(st[0].equal_missing && st[0].with == -1.5 && st[0].with_column == NULL);
    CHECK(st[1].cols.kind == NN_SEL_INPUTS && st[1].cols.n_except == 1 && st[1].k == 3);
    CHECK(st[2].cols.n_names == 1 && st[2].max_categories == 20);
    CHECK(st[3].cols.kind == NN_SEL_TARGET && st[3].strategy == NN_IMPUTE_CONSTANT);
    CHECK(st[4].method == NN_NORM_ZSCORE);
    CHECK(st[5].extract == (NN_DATE_YEAR | NN_DATE_YEARDAY) && st[5].keep == 1);
    CHECK_CONTAINS(s->canonical, "\"extract\":[\"year\",\"yearday\"]");
    CHECK_CONTAINS(s->canonical, "\"columns\":{\"except\":[\"c\"],\"select\":\"inputs\"}");
    nn_spec_destroy(s);
}

typedef struct error_case {
    const char *doc;
    const char *pointer;
    const char *message;
} error_case;

#define T(x) "{'target': 'y', 'training': {'epochs': 10" x "}}"
#define OPT(x) T(", 'optimizer': " x)
#define SCHED(x) T(", 'schedule': " x)
#define NET(x) "{'target': 'y', 'training': {'epochs': 10}, 'network': " x "}"
#define STEP(x) "{'target': 'y', 'training': {'epochs': 10}, 'preprocess': [" x "]}"

static const error_case error_cases[] = {
    /* the document */
    {"{'target': }", "", "invalid JSON at line 1, column 12:"},
    {"{'target': 'a', 'target': 'b', 'training': {'epochs': 1}}", "", "duplicate object key"},
    {"[1, 2]", "", "must be an object"},
    {"{'training': {'epochs': 10}}", "/target", "required"},
    {"{'target': 'y'}", "/training/epochs", "required"},
    {"{'target': 'y', 'training': 5}", "/training", "must be an object"},
    {"{'target': 'y', 'training': {'epochs': 1}, 'nmae': 'x'}", "/nmae",
     "unknown key \"nmae\" (did you mean \"name\"?)"},
    {"{'target': 'y', 'training': {'epochs': 1}, 'a/b~c': 1}", "/a~1b~0c", "unknown key \"a/b~c\""},
    {"{'target': 'y', 'training': {'epoch': 10}}", "/training/epoch",
     "unknown key \"epoch\" (did you mean \"epochs\"?)"},
    /* top-level values */
    {"{'target': 5, 'training': {'epochs': 1}}", "/target", "must be a column name or a list"},
    {"{'target': [], 'training': {'epochs': 1}}", "/target", "must not be empty"},
    {"{'target': ['a', 'b', 'a'], 'training': {'epochs': 1}}", "/target/2", "duplicate name \"a\""},
    {"{'target': 'y', 'id': 'y', 'training': {'epochs': 1}}", "/id", "is also a target"},
    {"{'target': 'y', 'name': '', 'training': {'epochs': 1}}", "/name", "must not be empty"},
    {"{'target': 'y', 'name': 7, 'training': {'epochs': 1}}", "/name", "must be a string"},
    {"{'target': 'y', 'seed': -1, 'training': {'epochs': 1}}", "/seed", "must be an integer ≥ 0"},
    {"{'target': 'y', 'seed': 9007199254740993, 'training': {'epochs': 1}}", "/seed",
     "must be an integer in 0..9007199254740992"},
    {"{'target': 'y', 'text_columns': 'a', 'training': {'epochs': 1}}", "/text_columns",
     "must be a list of names"},
    {"{'target': 'y', 'preprocess': {}, 'training': {'epochs': 1}}", "/preprocess",
     "must be a list of steps"},
    /* training */
    {"{'target': 'y', 'training': {'epochs': 0}}", "/training/epochs", "must be an integer ≥ 1"},
    {"{'target': 'y', 'training': {'epochs': -1}}", "/training/epochs", "must be an integer ≥ 1"},
    {"{'target': 'y', 'training': {'epochs': 1e9}}", "/training/epochs", "must be an integer"},
    {"{'target': 'y', 'training': {'epochs': 1000001}}", "/training/epochs",
     "must be an integer in 1..1000000"},
    {"{'target': 'y', 'training': {'epochs': '300'}}", "/training/epochs", "must be an integer"},
    {"{'target': 'y', 'training': {'epochs': 300.5}}", "/training/epochs", "must be an integer"},
    {"{'target': 'y', 'training': {'epochs': 3.0}}", "/training/epochs", "must be an integer"},
    {T(", 'batch_size': 0"), "/training/batch_size", "must be an integer ≥ 1"},
    {T(", 'batch_size': 2097152"), "/training/batch_size", "must be an integer in 1..1048576"},
    {T(", 'loss': 'msee'"), "/training/loss", "unknown loss \"msee\" (expected one of mse, mae"},
    {T(", 'loss': 3"), "/training/loss", "must be a loss name"},
    {T(", 'loss': {'type': 'mse', 'delta': 2}"), "/training/loss/delta", "only for type huber"},
    {T(", 'loss': {'type': 'huber', 'delta': 0}"), "/training/loss/delta", "must be a number > 0"},
    {OPT("{'type': 'adm'}"), "/training/optimizer/type",
     "unknown optimizer \"adm\" (expected one of sgd, momentum, adam, adamw)"},
    {OPT("{'type': 'adam', 'momentum': 0.9}"), "/training/optimizer/momentum",
     "only for type momentum"},
    {OPT("{'type': 'adam', 'nesterov': true}"), "/training/optimizer/nesterov",
     "only for type momentum"},
    {OPT("{'type': 'sgd', 'beta1': 0.9}"), "/training/optimizer/beta1",
     "only for types adam, adamw"},
    {OPT("{'weight_decay': 0.1}"), "/training/optimizer/weight_decay", "only for type adamw"},
    {OPT("{'type': 'momentum', 'momentum': 1}"), "/training/optimizer/momentum",
     "must be a number in [0, 1)"},
    {OPT("{'learning_rate': 0}"), "/training/optimizer/learning_rate", "must be a number > 0"},
    {OPT("{'learning_rate': 'fast'}"), "/training/optimizer/learning_rate", "must be a number"},
    {OPT("{'epsilon': -1}"), "/training/optimizer/epsilon", "must be a number > 0"},
    {OPT("{'type': 'momentum', 'nesterov': 1}"), "/training/optimizer/nesterov",
     "must be true or false"},
    {OPT("{'type': 'momentum', 'momentun': 0.5}"), "/training/optimizer/momentun",
     "did you mean \"momentum\"?"},
    {OPT("[]"), "/training/optimizer", "must be an object"},
    {SCHED("{'type': 'piecewise_constant', 'boundaries': [10, 20], 'values': [0.1, 0.01]}"),
     "/training/schedule/values", "must have one more entry than boundaries (2 values for 2"},
    {SCHED("{'type': 'piecewise_constant', 'boundaries': [20, 10], 'values': [1, 2, 3]}"),
     "/training/schedule/boundaries/1", "above the previous one"},
    {SCHED("{'type': 'piecewise_constant', 'values': [1]}"), "/training/schedule/boundaries",
     "required"},
    {SCHED("{'type': 'piecewise_constant', 'boundaries': [5], 'values': [1, -2]}"),
     "/training/schedule/values/1", "must be a number > 0"},
    {SCHED("{'type': 'cosine', 'decay_rate': 0.5}"), "/training/schedule/decay_rate",
     "only for types inverse_time_decay, exponential_decay"},
    {SCHED("{'type': 'constant', 'min_lr': 0}"), "/training/schedule/min_lr",
     "only for type cosine"},
    {SCHED("{'type': 'exponential_decay', 'decay_steps': 10}"), "/training/schedule/decay_rate",
     "required"},
    {SCHED("{'type': 'exponential_decay', 'decay_rate': 2, 'decay_steps': 10}"),
     "/training/schedule/decay_rate", "must be a number in (0, 1]"},
    {SCHED("{'type': 'inverse_time_decay', 'decay_rate': 1, 'decay_steps': 0}"),
     "/training/schedule/decay_steps", "must be a number > 0"},
    {SCHED("{'type': 'step'}"), "/training/schedule/type", "unknown schedule \"step\""},
    {T(", 'validation': {'type': 'kfold', 'k': 1}"), "/training/validation/k",
     "must be an integer ≥ 2"},
    {T(", 'validation': {'k': 101}"), "/training/validation/k", "must be an integer in 2..100"},
    {T(", 'validation': {'type': 'holdout', 'k': 3}"), "/training/validation/k",
     "only for type kfold"},
    {T(", 'validation': {'type': 'holdout', 'fraction': 1}"), "/training/validation/fraction",
     "must be a number in (0, 1)"},
    {T(", 'validation': {'type': 'loo'}"), "/training/validation/type",
     "unknown validation type \"loo\" (expected one of kfold, holdout, none)"},
    {T(", 'early_stopping': {'monitor': 'val_loss'}"), "/training/early_stopping/patience",
     "required"},
    {T(", 'early_stopping': {'patience': 0}"), "/training/early_stopping/patience",
     "must be an integer ≥ 1"},
    {T(", 'validation': {'type': 'none'}, 'early_stopping': {'patience': 3}"),
     "/training/early_stopping/monitor", "\"val_loss\" needs validation"},
    {T(", 'early_stopping': {'patience': 3, 'monitor': 'loss'}"),
     "/training/early_stopping/monitor", "unknown monitor \"loss\""},
    {T(", 'early_stopping': {'patience': 3, 'restore': true}"), "/training/early_stopping/restore",
     "unknown key \"restore\""},
    {T(", 'reduce_on_plateau': {'patience': 3, 'factor': 1}"), "/training/reduce_on_plateau/factor",
     "must be a number in (0, 1)"},
    {T(", 'reduce_on_plateau': {'patience': 3, 'min_lr': -1}"),
     "/training/reduce_on_plateau/min_lr", "must be a number ≥ 0"},
    {T(", 'final': 'best'"), "/training/final",
     "unknown final \"best\" (expected one of refit, best_fold, none)"},
    {T(", 'importance': {'repeats': 101}"), "/training/importance/repeats",
     "must be an integer in 0..100"},
    {T(", 'importance': {}"), "/training/importance/repeats", "required"},
    /* network */
    {NET("{'hidden': [{'units': 1000000000}]}"), "/network/hidden/0/units",
     "must be an integer in 1..65536"},
    {NET("{'hidden': [{'units': 0}]}"), "/network/hidden/0/units", "must be an integer ≥ 1"},
    {NET("{'hidden': [{'repeat': 2}]}"), "/network/hidden/0/units", "required"},
    {NET("{'hidden': [{'units': 16, 'repeat': 1000000}]}"), "/network/hidden/0/repeat",
     "must be an integer in 1..256"},
    {NET("{'hidden': [{'units': 4, 'repeat': 200}, {'units': 4, 'repeat': 200}]}"),
     "/network/hidden", "400 hidden layers after repeat, over the limit of 255"},
    {NET("{'hidden': [{'units': 65536, 'repeat': 200}]}"), "/network/hidden",
     "over the limit of 50000000"},
    /* 1·4000+4000 + 4·(4000²+4000) + 4000·1+1 = 64028001 */
    {NET("{'hidden': [{'units': 4000, 'repeat': 5}]}"), "/network/hidden",
     "the network has at least 64028001 parameters, over the limit of 50000000"},
    {NET("{'hidden': [{'units': 4, 'unit': 4}]}"), "/network/hidden/0/unit",
     "unknown key \"unit\" (did you mean \"units\"?)"},
    {NET("{'hidden': [5]}"), "/network/hidden/0", "must be an object"},
    {NET("{'hidden': {'units': 4}}"), "/network/hidden", "must be a list of layers"},
    {NET("{'hidden': [{'units': 4, 'activation': 'rleu'}]}"), "/network/hidden/0/activation",
     "unknown activation \"rleu\" (expected one of linear, relu,"},
    {NET("{'hidden': [{'units': 4, 'dropout': 1}]}"), "/network/hidden/0/dropout",
     "must be a number in [0, 1)"},
    {NET("{'hidden': [{'units': 4, 'init': {'weight': 'zeros'}}]}"),
     "/network/hidden/0/init/weight", "did you mean \"weights\"?"},
    {NET("{'init': {'weights': 'glorot'}}"), "/network/init/weights",
     "unknown initializer \"glorot\""},
    {NET("{'l2': -0.5}"), "/network/l2", "must be a number in [0, 1e+06)"},
    {NET("{'l2': 1e30}"), "/network/l2", "must be a number in [0, 1e+06)"},
    {NET("{'output': {'units': 3}}"), "/network/output/units", "unknown key \"units\""},
    {NET("{'output': {'activation': 'softmax'}}"), "/network/output/activation",
     "unknown activation \"softmax\""},
    /* preprocess */
    {STEP("{'op': 'date', 'column': 'd', 'format': '%Y-%Q'}"), "/preprocess/0/format",
     "unsupported conversion \"%Q\" at position 3"},
    {STEP("{'op': 'date', 'column': 'd', 'format': '%Y%'}"), "/preprocess/0/format",
     "ends with a lone %"},
    {STEP("{'op': 'date', 'column': 'd', 'format': 'YYYY'}"), "/preprocess/0/format",
     "has no conversions"},
    {STEP("{'op': 'date', 'column': 'd'}"), "/preprocess/0/format", "required"},
    {STEP("{'op': 'date', 'column': 'd', 'format': '%Y', 'extract': ['hour']}"),
     "/preprocess/0/extract/0", "must be one of timestamp, year"},
    {STEP("{'op': 'date', 'column': 'd', 'format': '%Y', 'extract': []}"), "/preprocess/0/extract",
     "must be a non-empty list"},
    {STEP("{'op': 'date', 'column': 'd', 'format': '%Y', 'keep': 'yes'}"), "/preprocess/0/keep",
     "must be true or false"},
    {STEP("{'op': 'date', 'columns': 'inputs', 'format': '%Y'}"), "/preprocess/0/columns",
     "date takes exactly one column"},
    {STEP("{'op': 'normalise', 'columns': 'all'}"), "/preprocess/0/op",
     "unknown op \"normalise\" (expected one of drop, date, replace"},
    {STEP("{'columns': 'all'}"), "/preprocess/0/op", "required"},
    {STEP("{'op': 'normalize', 'columns': 'all', 'format': '%Y'}"), "/preprocess/0/format",
     "only for op date"},
    {STEP("{'op': 'log', 'columns': 'all', 'method': 'zscore'}"), "/preprocess/0/method",
     "only for op normalize"},
    {STEP("{'op': 'log', 'columns': []}"), "/preprocess/0/columns", "must not be empty"},
    {STEP("{'op': 'log', 'columns': ['a', '']}"), "/preprocess/0/columns/1",
     "must be a non-empty string"},
    {STEP("{'op': 'log', 'columns': ['a'], 'column': 'b'}"), "/preprocess/0/column", "not both"},
    {STEP("{'op': 'log'}"), "/preprocess/0/columns", "required"},
    {STEP("{'op': 'drop', 'column': 'a'}"), "/preprocess/0/column", "drop takes a \"columns\""},
    {STEP("{'op': 'log', 'columns': 'price'}"), "/preprocess/0/columns",
     "unknown selector \"price\""},
    {STEP("{'op': 'log', 'columns': 5}"), "/preprocess/0/columns", "must be a list of names"},
    {STEP("{'op': 'log', 'columns': {'select': 'inputs', 'except': ['a', 'a']}}"),
     "/preprocess/0/columns/except/1", "duplicate name \"a\""},
    {STEP("{'op': 'log', 'columns': {'select': 'some'}}"), "/preprocess/0/columns/select",
     "unknown selector \"some\""},
    {STEP("{'op': 'log', 'columns': {'except': ['a']}}"), "/preprocess/0/columns/select",
     "required"},
    {STEP("{'op': 'replace', 'column': 'a', 'equal': 0, 'with': 1, 'with_column': 'b'}"),
     "/preprocess/0", "needs exactly one of \"with\" and \"with_column\""},
    {STEP("{'op': 'replace', 'column': 'a', 'equal': 0}"), "/preprocess/0", "needs exactly one of"},
    {STEP("{'op': 'replace', 'column': 'a', 'equal': 'x', 'with': 1}"), "/preprocess/0/equal",
     "must be a number"},
    {STEP("{'op': 'replace', 'column': 'a', 'with': 1}"), "/preprocess/0/equal", "required"},
    {STEP("{'op': 'impute', 'columns': 'inputs', 'strategy': 'constant'}"), "/preprocess/0/value",
     "required for strategy constant"},
    {STEP("{'op': 'impute', 'columns': 'inputs', 'value': 3}"), "/preprocess/0/value",
     "only for strategy constant"},
    {STEP("{'op': 'impute', 'columns': 'inputs', 'strategy': 'mode'}"), "/preprocess/0/strategy",
     "unknown strategy \"mode\""},
    {STEP("{'op': 'one_hot', 'column': 'c', 'max_categories': 0}"), "/preprocess/0/max_categories",
     "must be an integer ≥ 1"},
    {STEP("{'op': 'one_hot', 'column': 'c', 'max_categories': 10001}"),
     "/preprocess/0/max_categories", "must be an integer in 1..10000"},
    {STEP("{'op': 'filter_outliers', 'columns': 'inputs', 'k': -1}"), "/preprocess/0/k",
     "must be a number > 0"},
    {STEP("{'op': 'normalize', 'columns': 'inputs', 'method': 'l2'}"), "/preprocess/0/method",
     "unknown method \"l2\" (expected one of minmax, zscore)"},
    {STEP("{'op': 'log', 'columns': 'all'}, 7"), "/preprocess/1", "must be an object"},
};

static void test_spec_error_table(void) {
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const error_case *ec = &error_cases[i];
        nn_spec *s = NULL;
        nn_spec_errors errs;
        char buf[4096];
        q(ec->doc, buf, sizeof buf);
        nn_status st = nn_spec_parse(buf, strlen(buf), &s, &errs);
        int before = check_failures;
        CHECK(st == NN_ERR_SPEC);
        CHECK(s == NULL);
        CHECK(find_error(&errs, ec->pointer, ec->message) >= 0);
        if (check_failures != before) {
            fprintf(stderr, "  case %zu: want \"%s\": ...%s...\n", i, ec->pointer, ec->message);
            dump_errors(buf, &errs);
        }
        nn_spec_destroy(s);
    }
}

static void test_spec_collects_every_error(void) {
    nn_spec *s = NULL;
    nn_spec_errors errs;
    const char *doc = "{'training': {'epochs': 0, 'batch_size': 0, 'optimizer': {'type': 'adm'}},"
                      " 'network': {'hidden': [{'units': 0}]}, 'bogus': 1}";
    CHECK(parse_q(doc, &s, &errs) == NN_ERR_SPEC);
    CHECK(errs.n == 6);
    CHECK(find_error(&errs, "/target", "required") >= 0);
    CHECK(find_error(&errs, "/training/epochs", "must be an integer ≥ 1") >= 0);
    CHECK(find_error(&errs, "/training/batch_size", "must be an integer ≥ 1") >= 0);
    CHECK(find_error(&errs, "/training/optimizer/type", "unknown optimizer") >= 0);
    CHECK(find_error(&errs, "/network/hidden/0/units", "must be an integer") >= 0);
    CHECK(find_error(&errs, "/bogus", "unknown key \"bogus\"") >= 0);
    nn_error err;
    CHECK(nn_spec_errors_to_error(&errs, &err) == NN_ERR_SPEC);
    CHECK(err.code == NN_ERR_SPEC);
    CHECK_CONTAINS(err.msg, "(and 5 more)");
    CHECK(strncmp(err.msg, errs.items[0].pointer, strlen(errs.items[0].pointer)) == 0);
    CHECK_CONTAINS(err.msg, errs.items[0].message);
    nn_spec_errors_to_error(&errs, &err);
    /* a single problem prints as "pointer: message" */
    nn_spec_errors one = {0};
    nn_spec_errors_add(&one, "/training/epochs", "must be an integer ≥ %d", 1);
    CHECK(nn_spec_errors_to_error(&one, &err) == NN_ERR_SPEC);
    CHECK_STR(err.msg, "/training/epochs: must be an integer ≥ 1");
    nn_spec_errors none = {0};
    CHECK(nn_spec_errors_to_error(&none, &err) == NN_OK && err.code == NN_OK);
}

static void test_spec_error_cap(void) {
    /* 100 unknown keys: 64 are kept, the rest counted */
    size_t cap = 8192, len = 0;
    char *doc = malloc(cap);
    CHECK(doc != NULL);
    if (!doc) return;
    len +=
        (size_t)snprintf(doc + len, cap - len, "{\"target\": \"y\", \"training\": {\"epochs\": 1}");
    for (int i = 0; i < 100; i++)
        len += (size_t)snprintf(doc + len, cap - len, ", \"k%03d\": 1", i);
    len += (size_t)snprintf(doc + len, cap - len, "}");
    nn_spec *s = NULL;
    nn_spec_errors errs;
    CHECK(nn_spec_parse(doc, len, &s, &errs) == NN_ERR_SPEC);
    CHECK(errs.n == NN_SPEC_MAX_ERRORS);
    CHECK(errs.n_dropped == 100 - NN_SPEC_MAX_ERRORS);
    nn_error err;
    nn_spec_errors_to_error(&errs, &err);
    CHECK_CONTAINS(err.msg, "(and 99 more)");
    free(doc);
}

static void test_spec_unknown_key_without_suggestion(void) {
    nn_spec *s = NULL;
    nn_spec_errors errs;
    CHECK(parse_q("{'target': 'y', 'training': {'epochs': 1}, 'zzzzzz': 1}", &s, &errs) ==
          NN_ERR_SPEC);
    CHECK(errs.n == 1);
    CHECK_STR(errs.items[0].pointer, "/zzzzzz");
    CHECK_STR(errs.items[0].message, "unknown key \"zzzzzz\"");
}

static void test_spec_deep_nesting(void) {
    /* 40 levels under "network": refused by the depth check, before any schema message */
    char doc[1024];
    size_t len = (size_t)snprintf(doc, sizeof doc, "{\"target\": \"y\", \"network\": ");
    for (int i = 0; i < 40; i++) len += (size_t)snprintf(doc + len, sizeof doc - len, "{\"a\": ");
    len += (size_t)snprintf(doc + len, sizeof doc - len, "1");
    for (int i = 0; i < 41; i++) len += (size_t)snprintf(doc + len, sizeof doc - len, "}");
    nn_spec *s = NULL;
    nn_spec_errors errs;
    CHECK(nn_spec_parse(doc, len, &s, &errs) == NN_ERR_SPEC);
    CHECK(errs.n == 1);
    CHECK_CONTAINS(errs.items[0].message, "nested deeper than 32 levels");
    /* the root is level 1, "network" level 2, so the 33rd container is 31 "a"s below it */
    char want[128] = "/network";
    for (int i = 0; i < 31; i++) strncat(want, "/a", sizeof want - strlen(want) - 1);
    CHECK_STR(errs.items[0].pointer, want);

    /* 32 levels are fine as far as depth goes (the schema then objects to "a") */
    len = (size_t)snprintf(doc, sizeof doc, "{\"target\": \"y\", \"network\": ");
    for (int i = 0; i < 30; i++) len += (size_t)snprintf(doc + len, sizeof doc - len, "{\"a\": ");
    len += (size_t)snprintf(doc + len, sizeof doc - len, "1");
    for (int i = 0; i < 31; i++) len += (size_t)snprintf(doc + len, sizeof doc - len, "}");
    CHECK(nn_spec_parse(doc, len, &s, &errs) == NN_ERR_SPEC);
    CHECK(find_error(&errs, "/network/a", "unknown key") >= 0);
    for (size_t i = 0; i < errs.n; i++) CHECK(!strstr(errs.items[i].message, "nested"));

    /* far deeper than Jansson's own limit: a syntax error at "" */
    size_t n = 5000;
    char *deep = malloc(n);
    CHECK(deep != NULL);
    if (!deep) return;
    memset(deep, '[', n);
    CHECK(nn_spec_parse(deep, n, &s, &errs) == NN_ERR_SPEC);
    CHECK(errs.n == 1 && errs.items[0].pointer[0] == '\0');
    CHECK_CONTAINS(errs.items[0].message, "invalid JSON");
    free(deep);
}

static void test_spec_too_big(void) {
    size_t n = 2u << 20;
    char *doc = malloc(n);
    CHECK(doc != NULL);
    if (!doc) return;
    /* a valid document padded with whitespace to 2 MiB */
    memset(doc, ' ', n);
    const char *body = "{\"target\": \"y\", \"training\": {\"epochs\": 1}}";
    memcpy(doc, body, strlen(body));
    nn_spec *s = NULL;
    nn_spec_errors errs;
    CHECK(nn_spec_parse(doc, n, &s, &errs) == NN_ERR_SPEC);
    CHECK(s == NULL && errs.n == 1);
    CHECK_STR(errs.items[0].pointer, "");
    CHECK_CONTAINS(errs.items[0].message, "2097152 bytes, over the limit of 1048576 bytes");
    /* the same body unpadded is fine */
    CHECK(nn_spec_parse(doc, strlen(body), &s, &errs) == NN_OK);
    nn_spec_destroy(s);
    free(doc);
}

static void test_spec_param_limit_boundary(void) {
    /* 4000 units × 4: 1·4000+4000 + 3·(4000²+4000) + 4000+1 = 48024001 ≤ 50M: accepted */
    nn_spec *s = NULL;
    nn_spec_errors errs;
    CHECK(parse_q(NET("{'hidden': [{'units': 4000, 'repeat': 4}]}"), &s, &errs) == NN_OK);
    CHECK(s && s->n_hidden == 4);
    nn_spec_destroy(s);
    s = NULL;
    /* 255 layers is the most; 256 is one too many */
    CHECK(parse_q(NET("{'hidden': [{'units': 2, 'repeat': 255}]}"), &s, &errs) == NN_OK);
    CHECK(s && s->n_hidden == 255);
    nn_spec_destroy(s);
    s = NULL;
    CHECK(parse_q(NET("{'hidden': [{'units': 2, 'repeat': 256}]}"), &s, &errs) == NN_ERR_SPEC);
    CHECK(find_error(&errs, "/network/hidden", "256 hidden layers after repeat") >= 0);
}

static void test_spec_name_and_target_counts(void) {
    char doc[2048], names[1024];
    nn_spec *s = NULL;
    nn_spec_errors errs;
    /* 129 characters (multi-byte ones count once): too long; 128 is fine */
    char name[600] = "";
    for (int i = 0; i < 129; i++) strncat(name, "\xc3\xa9", sizeof name - strlen(name) - 1);
    int len = snprintf(doc, sizeof doc,
                       "{\"target\": \"y\", \"name\": \"%s\", "
                       "\"training\": {\"epochs\": 1}}",
                       name);
    CHECK(nn_spec_parse(doc, (size_t)len, &s, &errs) == NN_ERR_SPEC);
    CHECK(find_error(&errs, "/name", "must be 1..128 characters") >= 0);
    name[strlen(name) - 2] = '\0';
    len = snprintf(doc, sizeof doc,
                   "{\"target\": \"y\", \"name\": \"%s\", "
                   "\"training\": {\"epochs\": 1}}",
                   name);
    CHECK(nn_spec_parse(doc, (size_t)len, &s, &errs) == NN_OK);
    nn_spec_destroy(s);
    s = NULL;
    /* 65 targets: over the limit of 64 */
    size_t n = 0;
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(names + n, sizeof names - n, "%s\"t%d\"", i ? ", " : "", i);
    len = snprintf(doc, sizeof doc, "{\"target\": [%s], \"training\": {\"epochs\": 1}}", names);
    CHECK(nn_spec_parse(doc, (size_t)len, &s, &errs) == NN_ERR_SPEC);
    CHECK(find_error(&errs, "/target", "must have at most 64 names") >= 0);
}

static void test_spec_parse_file_errors(void) {
    nn_spec *s = NULL;
    nn_spec_errors errs;
    CHECK(nn_spec_parse_file("/nonexistent/x.json", &s, &errs) == NN_ERR_IO);
    CHECK(s == NULL && errs.n == 1);
    CHECK_STR(errs.items[0].pointer, "");
    CHECK_STR(errs.items[0].message, "cannot open /nonexistent/x.json: No such file or directory");
}

static void hash_of(const char *doc, char out[65]) {
    nn_spec *s = NULL;
    nn_spec_errors errs;
    out[0] = '\0';
    if (parse_q(doc, &s, &errs) != NN_OK) {
        dump_errors(doc, &errs);
        return;
    }
    memcpy(out, s->hash, 65);
    nn_spec_destroy(s);
}

static void test_spec_canonical_hash(void) {
    char a[65], b[65], c[65], d[65], e[65];
    hash_of("{'target': 'price', 'training': {'epochs': 300, 'optimizer': {'type': 'momentum',"
            " 'learning_rate': 1}}, 'network': {'hidden': [{'units': 16, 'repeat': 2}]},"
            " 'preprocess': [{'op': 'log', 'column': 'price'}]}",
            a);
    /* key order, whitespace, explicit defaults, 1 vs 1.0, "x" vs ["x"], column vs columns */
    hash_of("{\n  'preprocess' : [ {'columns': ['price'], 'op': 'log'} ],\n"
            "  'network': {'init': {'biases': 'zeros', 'weights': 'glorot_uniform'},"
            " 'dropout': 0, 'hidden': [{'repeat': 2, 'activation': 'relu', 'units': 16,"
            " 'l2': 0.0}], 'output': {'activation': 'linear'}},\n"
            "  'training': {'optimizer': {'nesterov': false, 'momentum': 0.9,"
            " 'learning_rate': 1.0, 'type': 'momentum'}, 'batch_size': 32,"
            " 'epochs': 300, 'schedule': {'type': 'constant'}, 'final': 'refit',"
            " 'validation': {'type': 'kfold', 'k': 5}, 'importance': {'repeats': 0}},"
            "  'target': ['price'], 'seed': 0, 'name': 'unnamed', 'text_columns': []\n}",
            b);
    hash_of("{'target': 'price', 'training': {'epochs': 301, 'optimizer': {'type': 'momentum',"
            " 'learning_rate': 1}}, 'network': {'hidden': [{'units': 16, 'repeat': 2}]},"
            " 'preprocess': [{'op': 'log', 'column': 'price'}]}",
            c);
    /* repeat is kept as written: two entries of one layer differ from one entry of two */
    hash_of("{'target': 'price', 'training': {'epochs': 300, 'optimizer': {'type': 'momentum',"
            " 'learning_rate': 1}}, 'network': {'hidden': [{'units': 16}, {'units': 16}]},"
            " 'preprocess': [{'op': 'log', 'column': 'price'}]}",
            d);
    hash_of("{'target': 'y', 'training': {'epochs': 3, 'loss': {'type': 'huber'},"
            " 'schedule': {'type': 'cosine'}}}",
            e);
    CHECK(strlen(a) == 64);
    CHECK_STR(a, b);
    CHECK(strcmp(a, c) != 0);
    CHECK(strcmp(a, d) != 0);
    char e2[65];
    hash_of("{'target': 'y', 'training': {'epochs': 3, 'loss': {'type': 'huber', 'delta': 1.0},"
            " 'schedule': {'type': 'cosine', 'decay_steps': 3, 'min_lr': 0}}}",
            e2);
    CHECK(strlen(e) == 64);
    CHECK_STR(e, e2);
    /* the loss's default depends on the task: spelled out, it hashes as the default only where
       the spec states the task (without one, the target's type decides and "mse" on a text
       target is an error, not the default) */
    char f[65], f2[65], g[65], g2[65], g3[65];
    hash_of("{'target': 'y', 'task': 'regression', 'training': {'epochs': 3}}", f);
    hash_of("{'target': 'y', 'task': 'regression', 'training': {'epochs': 3, 'loss': 'mse'}}", f2);
    CHECK(strlen(f) == 64);
    CHECK_STR(f, f2);
    hash_of("{'target': 'y', 'training': {'epochs': 3, 'loss': 'mse'}}", e2);
    CHECK(strcmp(f, e2) != 0);
    hash_of("{'target': 'y', 'task': 'classification', 'training': {'epochs': 3}}", g);
    hash_of("{'target': 'y', 'task': 'classification', 'training': {'epochs': 3,"
            " 'loss': 'cross_entropy', 'validation': {'stratify': true}}}",
            g2);
    hash_of("{'target': 'y', 'task': 'classification', 'training': {'epochs': 3,"
            " 'loss': {'type': 'cross_entropy', 'label_smoothing': 0}}}",
            g3);
    CHECK(strlen(g) == 64);
    CHECK_STR(g, g2);
    CHECK_STR(g, g3);
}

static void test_spec_canonical_reparses_to_itself(void) {
    char path[1024];
    nn_spec *s = NULL, *t = NULL;
    nn_spec_errors errs;
    CHECK(nn_spec_parse_file(source_path("examples/kc_house_seed.json", path, sizeof path), &s,
                             &errs) == NN_OK);
    if (!s) return;
    CHECK(nn_spec_parse(s->canonical, strlen(s->canonical), &t, &errs) == NN_OK);
    if (t) {
        CHECK_STR(t->canonical, s->canonical);
        CHECK_STR(t->hash, s->hash);
        CHECK(t->n_hidden == 8 && t->n_steps == 6);
    }
    char hex[65];
    CHECK(strlen(s->hash) == 64);
    /* the hash is of exactly the canonical text */
    nn_sha256_hex(s->canonical, strlen(s->canonical), hex);
    CHECK_STR(hex, s->hash);
    /* sorted, compact: no spaces after separators, "name" before "network" */
    CHECK(strstr(s->canonical, ": ") == NULL && strstr(s->canonical, ", ") == NULL);
    CHECK(strstr(s->canonical, "\"name\"") < strstr(s->canonical, "\"network\""));
    nn_spec_destroy(s);
    nn_spec_destroy(t);
}

int main(void) {
    RUN(test_spec_seed_example);
    RUN(test_spec_defaults);
    RUN(test_spec_stop_at);
    RUN(test_spec_layer_defaults_and_overrides);
    RUN(test_spec_step_fields);
    RUN(test_spec_error_table);
    RUN(test_spec_collects_every_error);
    RUN(test_spec_error_cap);
    RUN(test_spec_unknown_key_without_suggestion);
    RUN(test_spec_deep_nesting);
    RUN(test_spec_too_big);
    RUN(test_spec_param_limit_boundary);
    RUN(test_spec_name_and_target_counts);
    RUN(test_spec_parse_file_errors);
    RUN(test_spec_canonical_hash);
    RUN(test_spec_canonical_reparses_to_itself);
    return check_summary();
}
