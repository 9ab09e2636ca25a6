/* nn_spec.h — job specs: one JSON document says how to preprocess a CSV, what network to train
 * and how to validate it.
 *
 * DESIGN: nn_spec_parse reads the JSON (Jansson), checks every key against the schema (unknown
 * keys are errors), fills defaults, and collects *every* problem with its JSON pointer
 * ("/training/epochs: must be an integer ≥ 1") into an nn_spec_errors list rather than stopping
 * at the first. Sizes are checked before anything is allocated from them (a billion units is
 * refused from the numbers alone). Checks that need the data's columns (unknown column names,
 * text targets) happen later, in nn_pipe_plan, with the same pointers. The parsed spec keeps a
 * canonical JSON form — defaults filled, keys sorted, compact — and its SHA-256, stored with
 * every result so a result always says exactly what produced it.
 */
#ifndef NN_SPEC_H
#define NN_SPEC_H

#include "nn_common.h"
#include "nn_csv.h"
#include "nn_loss.h"
#include "nn_net.h"
#include "nn_optim.h"
#include "nn_sched.h"

#include <jansson.h>

#define NN_SPEC_MAX_ERRORS 64
#define NN_SPEC_MAX_BYTES (1 << 20) /* a spec document is at most 1 MiB */
#define NN_SPEC_MAX_DEPTH 32        /* JSON nesting */
#define NN_SPEC_MAX_STEPS 256
#define NN_SPEC_MAX_EPOCHS 1000000
#define NN_SPEC_MAX_PARAMS 50000000 /* parameters in a spec's network */
#define NN_SPEC_MAX_K 100
#define NN_SPEC_MAX_BINS 256    /* a bins step's bins per column */
#define NN_SPEC_MAX_ENSEMBLE 32 /* networks averaged per fold and in the final model */
#define NN_MAX_CLASSES 1024     /* classes of a classification target */
#define NN_SPEC_MAX_L2 1e6      /* l2 is in [0, 1e6), the range a network accepts */

/* One problem in a spec: where (an RFC 6901 JSON pointer, "" for the whole document) and what. */
typedef struct nn_spec_error {
    char pointer[128];
    char message[256];
} nn_spec_error;

typedef struct nn_spec_errors {
    size_t n;         /* problems recorded (at most NN_SPEC_MAX_ERRORS) */
    size_t n_dropped; /* problems beyond the cap */
    nn_spec_error items[NN_SPEC_MAX_ERRORS];
} nn_spec_errors;

/* Records a problem at pointer (printf-style message). */
void nn_spec_errors_add(nn_spec_errors *errs, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes "pointer: message" for the first problem into err (status NN_ERR_SPEC), with
 * " (and N more)" when there are several; a problem at pointer "" is written as its message
 * alone. With no problems, clears err and returns NN_OK. */
nn_status nn_spec_errors_to_error(const nn_spec_errors *errs, nn_error *err);

/* A column selector: "columns": ["a", "b"] | "inputs" | "target" | "all", optionally as
 * {"select": "inputs", "except": ["x"]}. "inputs" = every column present at that step except
 * the targets and the id column; "all" = inputs and targets. */
typedef enum nn_sel_kind { NN_SEL_LIST, NN_SEL_INPUTS, NN_SEL_TARGET, NN_SEL_ALL } nn_sel_kind;

typedef struct nn_colsel {
    nn_sel_kind kind;
    char **names; /* (n_names) for NN_SEL_LIST, owned */
    size_t n_names;
    char **except; /* (n_except), owned */
    size_t n_except;
} nn_colsel;

#define NN_OP_TABLE(X)                                                                             \
    X(NN_OP_DROP, "drop")                                                                          \
    X(NN_OP_DATE, "date")                                                                          \
    X(NN_OP_REPLACE, "replace")                                                                    \
    X(NN_OP_LOG10, "log10")                                                                        \
    X(NN_OP_LOG, "log")                                                                            \
    X(NN_OP_LOG1P, "log1p")                                                                        \
    X(NN_OP_SQUARE, "square")                                                                      \
    X(NN_OP_FILTER_OUTLIERS, "filter_outliers")                                                    \
    X(NN_OP_NORMALIZE, "normalize")                                                                \
    X(NN_OP_ONE_HOT, "one_hot")                                                                    \
    X(NN_OP_IMPUTE, "impute")                                                                      \
    X(NN_OP_BINS, "bins")

typedef enum nn_op_kind { NN_OP_TABLE(NN_ENUM_ITEM) NN_OP_COUNT } nn_op_kind;

/* date parts: the part's index in this table is its bit in nn_step.extract */
#define NN_DATE_PART_TABLE(X)                                                                      \
    X(NN_DATE_PART_TIMESTAMP, "timestamp") /* seconds since 1970-01-01T00:00:00 UTC */             \
    X(NN_DATE_PART_YEAR, "year")                                                                   \
    X(NN_DATE_PART_MONTH, "month")     /* 1..12 */                                                 \
    X(NN_DATE_PART_DAY, "day")         /* 1..31 */                                                 \
    X(NN_DATE_PART_WEEKDAY, "weekday") /* 0 = Monday .. 6 = Sunday (ISO order) */                  \
    X(NN_DATE_PART_YEARDAY, "yearday") /* 1..366 */
typedef enum nn_date_part { NN_DATE_PART_TABLE(NN_ENUM_ITEM) NN_DATE_PART_COUNT } nn_date_part;
enum {
    NN_DATE_TIMESTAMP = 1 << NN_DATE_PART_TIMESTAMP,
    NN_DATE_YEAR = 1 << NN_DATE_PART_YEAR,
    NN_DATE_MONTH = 1 << NN_DATE_PART_MONTH,
    NN_DATE_DAY = 1 << NN_DATE_PART_DAY,
    NN_DATE_WEEKDAY = 1 << NN_DATE_PART_WEEKDAY,
    NN_DATE_YEARDAY = 1 << NN_DATE_PART_YEARDAY,
};

#define NN_NORM_TABLE(X) X(NN_NORM_MINMAX, "minmax") X(NN_NORM_ZSCORE, "zscore")
typedef enum nn_norm_method { NN_NORM_TABLE(NN_ENUM_ITEM) NN_NORM_COUNT } nn_norm_method;
#define NN_IMPUTE_TABLE(X)                                                                         \
    X(NN_IMPUTE_MEAN, "mean") X(NN_IMPUTE_MEDIAN, "median") X(NN_IMPUTE_CONSTANT, "constant")
typedef enum nn_impute_method { NN_IMPUTE_TABLE(NN_ENUM_ITEM) NN_IMPUTE_COUNT } nn_impute_method;
#define NN_ENCODE_TABLE(X) X(NN_ENCODE_PIECEWISE, "piecewise") X(NN_ENCODE_ONE_HOT, "one_hot")
typedef enum nn_bins_encode { NN_ENCODE_TABLE(NN_ENUM_ITEM) NN_ENCODE_COUNT } nn_bins_encode;

/* One preprocessing step, "/preprocess/<index>". Fields are meaningful for the ops noted. */
typedef struct nn_step {
    nn_op_kind op;
    nn_colsel cols; /* every op: "columns" (or "column" for a single name) */
    /* date */
    char *format;     /* strptime-style format, e.g. "%Y%m%dT%H%M%S"; owned */
    unsigned extract; /* NN_DATE_* bits; default timestamp */
    int keep;         /* date, bins: keep the source column; default false */
    /* replace: rows whose value == equal get `with` or the value of with_column */
    double equal;
    int equal_missing; /* "equal": null matches missing values instead */
    double with;
    char *with_column; /* owned; NULL means the constant `with` */
    /* filter_outliers */
    double k; /* Tukey fence multiplier, default 1.5 */
    /* normalize */
    nn_norm_method method; /* default minmax */
    /* one_hot */
    int max_categories; /* categories kept by frequency in the training rows, default 100;
                           the rest, and unseen values, map to all-zero ("other") */
    /* impute */
    nn_impute_method strategy; /* default mean */
    double value;              /* for constant */
    /* bins: quantile bins of the training values, "<col>_bin<j>" columns */
    int bins;              /* bins wanted, default 16 (fewer when training values tie) */
    nn_bins_encode encode; /* piecewise (default): bin j is (x − e_j) / (e_j+1 − e_j) clipped
                              to 0..1, so the bins below x are 1 and those above 0; one_hot: 1 in
                              x's bin only */
} nn_step;

#define NN_VAL_TABLE(X) X(NN_VAL_KFOLD, "kfold") X(NN_VAL_HOLDOUT, "holdout") X(NN_VAL_NONE, "none")
typedef enum nn_val_kind { NN_VAL_TABLE(NN_ENUM_ITEM) NN_VAL_COUNT } nn_val_kind;
#define NN_FINAL_TABLE(X)                                                                          \
    X(NN_FINAL_REFIT, "refit") X(NN_FINAL_BEST_FOLD, "best_fold") X(NN_FINAL_NONE, "none")
typedef enum nn_final_kind { NN_FINAL_TABLE(NN_ENUM_ITEM) NN_FINAL_COUNT } nn_final_kind;
#define NN_MONITOR_TABLE(X)                                                                        \
    X(NN_MONITOR_VAL_LOSS, "val_loss")                                                             \
    X(NN_MONITOR_VAL_R2, "val_r2")                                                                 \
    X(NN_MONITOR_TRAIN_LOSS, "train_loss")                                                         \
    X(NN_MONITOR_VAL_LOG_LOSS, "val_log_loss")                                                     \
    X(NN_MONITOR_VAL_ACCURACY, "val_accuracy")
typedef enum nn_monitor { NN_MONITOR_TABLE(NN_ENUM_ITEM) NN_MONITOR_COUNT } nn_monitor;

/* What a spec predicts: a number (regression) or a class (classification). Without "task" the
 * target's type decides (nn_spec_task): a text column is classification, a number column
 * regression — a number target is never turned into classes unless the spec says so. */
#define NN_TASK_TABLE(X)                                                                           \
    X(NN_TASK_REGRESSION, "regression") X(NN_TASK_CLASSIFICATION, "classification")
typedef enum nn_task { NN_TASK_TABLE(NN_ENUM_ITEM) NN_TASK_COUNT } nn_task;

/* "class_weight" of a cross_entropy loss: none, "balanced" (n / (k · n_c), from each fold's
 * training rows, as scikit-learn) or {"label": weight} (classes not named weigh 1). */
typedef enum nn_class_weight_kind { NN_CW_NONE, NN_CW_BALANCED, NN_CW_MAP } nn_class_weight_kind;

typedef struct nn_spec {
    char *name;     /* default "unnamed" */
    uint64_t seed;  /* default 0 */
    char **targets; /* (n_targets) "target": "price" or ["a", "b"]; required */
    size_t n_targets;
    char *id;            /* "id": column carried through, never an input; may be NULL */
    char **text_columns; /* "text_columns": columns read as text whatever they look like */
    size_t n_text_columns;
    nn_task task; /* "task", when task_given; else the target's type decides (nn_spec_task) */
    int task_given;
    char *positive; /* "positive": label of the positive class of two; NULL = the second in
                       sorted order; owned */
    nn_step *steps; /* (n_steps) "preprocess" */
    size_t n_steps;

    /* "network": hidden layers expanded ("repeat" unrolled); the output layer's units are the
       number of targets. Activation, dropout, l2 and init apply per layer. */
    nn_layer_cfg *hidden; /* (n_hidden) */
    int n_hidden;
    nn_layer_cfg output; /* units = n_targets */

    /* "training" */
    int epochs;     /* required, 1..NN_SPEC_MAX_EPOCHS */
    int stop_at;    /* "stop_at": N trains epochs 1..N of the `epochs`-long run and stops
                       (a prefix of the full run: the schedule is over `epochs`); 0 (absent)
                       trains them all */
    int batch_size; /* default 32 */
    int ensemble;   /* networks per fold (and in the final model) trained from different
                       seeds and averaged in model space; default 1 */
    nn_loss loss;   /* default mse (cross_entropy for classification: nn_spec_loss);
                       "loss": "huber" or {"type": "huber", "delta": 1}; the class
                       weights are not in it (the job maps them to classes) */
    int loss_given; /* "loss" present */
    nn_class_weight_kind class_weight;
    char **cw_labels;  /* (n_cw) NN_CW_MAP: labels, owned */
    double *cw_values; /* (n_cw) their weights (> 0), owned */
    size_t n_cw;
    nn_optim_cfg optim;     /* default adam */
    nn_sched sched;         /* default constant */
    nn_val_kind validation; /* default kfold */
    int k;                  /* kfold: 2..NN_SPEC_MAX_K, default 5 */
    double holdout;         /* holdout: validation fraction in (0, 1), default 0.2 */
    int no_stratify;        /* "stratify": false — classification folds do not keep the class
                               proportions (they do by default) */
    /* early stopping, off when patience == 0 */
    nn_monitor es_monitor; /* default val_loss */
    int es_patience;
    double es_min_delta;
    int es_restore_best; /* default true */
    /* reduce on plateau, off when patience == 0 */
    nn_monitor rp_monitor;
    int rp_patience;
    double rp_factor;       /* default 0.5 */
    double rp_min_lr;       /* default 0 */
    nn_final_kind final;    /* default refit (best_fold when validation is none: refit) */
    int importance_repeats; /* permutation importance repeats, 0 = off */

    char *canonical;        /* canonical JSON (defaults filled, sorted keys, compact); owned */
    char hash[65];          /* lowercase hex SHA-256 of canonical */
    json_t *canonical_json; /* the same as a tree; owned (nn_spec_to_json hands out copies) */
} nn_spec;

/* Parses and validates a spec. On success writes *out (owned by the caller) and returns NN_OK;
 * otherwise returns NN_ERR_SPEC with every problem in errs (errs is required). JSON syntax
 * errors are reported at pointer "" with Jansson's line and column. An allocation failure
 * returns NN_ERR_NOMEM with "out of memory" at pointer "".
 *
 * The canonical form: every key of the schema that has a default is written out (absent
 * "early_stopping", "reduce_on_plateau", "id", "task", "positive" and a loss's "class_weight" stay
 * absent; "importance" is always written, repeats 0 when off); real-valued keys are written as
 * reals (1 and 1.0 alike) and integer keys as integers; "target" is always a list; a step's
 * "column": "x" becomes "columns": ["x"] and {"select": s} without "except" becomes s; "loss" is
 * {"type": ...} (with "delta" for huber, "label_smoothing" for cross_entropy), and absent when
 * neither "loss" nor "task" is given (its default then depends on the target's type, which only
 * the data says); validation's "stratify" is written only when false; optimizer, schedule and
 * validation objects carry only their type's keys; date "extract" is listed in NN_DATE_* order;
 * each hidden entry keeps its "repeat" and gets the network-level dropout/l2/init it resolves to,
 * and the network-level keys are kept too. */
nn_status nn_spec_parse(const char *text, size_t len, nn_spec **out, nn_spec_errors *errs);
/* The same from a JSON document already parsed (borrowed; a request body's "spec", a stored
 * canonical spec): nn_spec_parse is this after json_loadb. */
nn_status nn_spec_from_json(const json_t *doc, nn_spec **out, nn_spec_errors *errs);
/* A deep copy of spec; *out owned by the caller. */
nn_status nn_spec_clone(const nn_spec *spec, nn_spec **out, nn_error *err);
/* The canonical form as a JSON tree: a new reference (a deep copy, so callers may modify it and
 * threads may call this on one spec at once); NULL when out of memory or for a spec that was
 * not parsed (built by hand). */
json_t *nn_spec_to_json(const nn_spec *spec);
/* The SHA-256 (hex) of the canonical form without "name", "training.stop_at" and
 * "training.final": what a fold's training depends on. Two specs with the same trajectory
 * train the same folds epoch by epoch, so the one that stops earlier is a prefix of the other
 * (nn_cv_task_state). NN_ERR_NOMEM, or NN_ERR_INVALID for a spec not parsed. */
nn_status nn_spec_trajectory(const nn_spec *spec, char out[65], nn_error *err);
/* Reads a file (at most NN_SPEC_MAX_BYTES) and parses it; I/O errors are reported at pointer ""
 * with the path ("cannot open x.json: No such file or directory") and return NN_ERR_IO. */
nn_status nn_spec_parse_file(const char *path, nn_spec **out, nn_spec_errors *errs);
void nn_spec_destroy(nn_spec *spec);

/* Reads a CSV for spec (nn_spec_csv.c): the spec's text_columns and id column, and the names in
 * src->text, are read as text where the header has them (a name it lacks is no error here: the
 * plan reports the spec's, at their pointers). *out is the caller's. Every reader of data for a
 * spec — training, planning, predicting — goes through this. */
nn_status nn_spec_read_csv(const nn_spec *spec, const nn_csv_source *src, nn_table **out,
                           nn_error *err);

/* The network config of a spec for n_inputs inputs and n_outputs outputs (the number of targets
 * for regression; 1 for two classes, k for k > 2); layers points into spec (borrowed) — the
 * caller provides storage for n_hidden + 1 layer configs in `layers`. */
void nn_spec_net_cfg(const nn_spec *spec, int n_inputs, int n_outputs, nn_layer_cfg *layers,
                     nn_net_cfg *cfg);

/* Classification and regression (nn_spec_task.c). The task of spec on data: "task" when given,
 * else classification for a text target and regression otherwise. */
nn_task nn_spec_task(const nn_spec *spec, const nn_table *data);
/* The loss a job trains with: the spec's, or the task's default (mse; cross_entropy). */
nn_loss nn_spec_loss(const nn_spec *spec, nn_task task);
/* Records what does not fit the task, each at its pointer: for classification a list of targets,
 * an output activation other than linear, a regression loss, a val_r2 monitor; for regression a
 * cross_entropy loss, "positive", "stratify", val_log_loss/val_accuracy monitors. */
void nn_spec_check_task(const nn_spec *spec, nn_task task, nn_spec_errors *errs);

/* Names of the spec's enumerations ("one_hot", "timestamp", "zscore" …), from their tables. */
const char *nn_op_name(nn_op_kind v);
int nn_op_from_name(const char *name, nn_op_kind *out);
const char *nn_op_names(void);
const char *nn_date_part_name(nn_date_part v);
int nn_date_part_from_name(const char *name, nn_date_part *out);
const char *nn_date_part_names(void);
const char *nn_norm_name(nn_norm_method v);
int nn_norm_from_name(const char *name, nn_norm_method *out);
const char *nn_norm_names(void);
const char *nn_impute_name(nn_impute_method v);
int nn_impute_from_name(const char *name, nn_impute_method *out);
const char *nn_impute_names(void);
const char *nn_encode_name(nn_bins_encode v);
int nn_encode_from_name(const char *name, nn_bins_encode *out);
const char *nn_encode_names(void);
const char *nn_val_name(nn_val_kind v);
int nn_val_from_name(const char *name, nn_val_kind *out);
const char *nn_val_names(void);
const char *nn_final_name(nn_final_kind v);
int nn_final_from_name(const char *name, nn_final_kind *out);
const char *nn_final_names(void);
const char *nn_monitor_name(nn_monitor v);
int nn_monitor_from_name(const char *name, nn_monitor *out);
const char *nn_monitor_names(void);
const char *nn_task_name(nn_task v);
int nn_task_from_name(const char *name, nn_task *out);
const char *nn_task_names(void);

#endif
