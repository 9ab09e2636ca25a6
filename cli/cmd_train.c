/* cmd_train.c — `nn train`: cross-validate a spec on a CSV, show progress, write the results.
 *
 * On a terminal the progress is one live line per fold (bar, epoch, losses, R², ETA) redrawn at
 * most every 100 ms; otherwise one line per finished fold, so logs stay readable. */
#include "cli.h"
#include "cli_util.h"

#include "nn_csv.h"
#include "nn_cv.h"
#include "nn_report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct fold_line {
    int epoch, epochs, state; /* state: 0 waiting, 1 running, 2 done */
    double train_loss, val_loss, val_r2, r2_units;
    double val_acc, acc; /* classification: validation accuracy (epoch, fold) */
} fold_line;

typedef struct progress {
    int tty, quiet, n_lines, drawn, ensemble;
    fold_line *lines; /* (n_folds + 1): the last is the final refit */
    int n_folds;
    double t0, last_draw;
    long long done_epochs, total_epochs;
} progress;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void draw(progress *p) {
    if (p->drawn) (void)fprintf(stderr, "\033[%dA", p->n_lines);
    double el = now() - p->t0;
    double rate = p->done_epochs > 0 ? el / (double)p->done_epochs : 0;
    double eta = rate * (double)(p->total_epochs - p->done_epochs);
    for (int i = 0; i < p->n_lines; i++) {
        const fold_line *l = &p->lines[i];
        char name[32], bar[21];
        if (i < p->n_folds)
            (void)snprintf(name, sizeof name, "fold %d/%d", i + 1, p->n_folds);
        else
            (void)snprintf(name, sizeof name, "final fit");
        int fill = l->epochs ? (int)(20.0 * l->epoch / l->epochs) : 0;
        for (int k = 0; k < 20; k++) bar[k] = k < fill ? '#' : '.';
        bar[20] = '\0';
        (void)fprintf(stderr, "\r\033[K%-10s [%s] %4d/%-4d loss %.4g", name, bar, l->epoch,
                      l->epochs, l->train_loss);
        if (!isnan(l->val_loss) && !isnan(l->val_acc))
            (void)fprintf(stderr, "  val %.4g  acc %.4f", l->val_loss, l->val_acc);
        else if (!isnan(l->val_loss))
            (void)fprintf(stderr, "  val %.4g  R² %.4f", l->val_loss, l->val_r2);
        if (l->state == 2 && !isnan(l->acc))
            (void)fprintf(stderr, "  done: accuracy %.4f", l->acc);
        else if (l->state == 2 && !isnan(l->r2_units))
            (void)fprintf(stderr, "  done: R² %.4f", l->r2_units);
        (void)fputc('\n', stderr);
    }
    (void)fprintf(stderr, "\r\033[Kelapsed %.1fs  ETA %.0fs\n", el, eta);
    p->drawn = 1;
}

static void on_report(void *user, const nn_cv_event *ev) {
    progress *p = user;
    int i = ev->fold < 0 ? p->n_folds : ev->fold;
    fold_line *l = &p->lines[i];
    if (ev->kind == NN_CV_FOLD_START) {
        l->state = 1;
        l->epochs = ev->epochs * p->ensemble;
    } else if (ev->kind == NN_CV_EPOCH) {
        l->epoch = ev->epoch->member * ev->epochs + ev->epoch->epoch;
        l->train_loss = ev->epoch->train_loss;
        l->val_loss = ev->epoch->val_loss;
        l->val_r2 = ev->epoch->val_r2;
        l->val_acc = ev->epoch->val_accuracy;
        p->done_epochs++;
    } else {
        l->state = 2;
        const nn_fold_result *fr = ev->result;
        p->done_epochs += l->epochs - l->epoch; /* early stopping skipped these */
        l->epoch = l->epochs;
        l->r2_units = fr->n_val && fr->units ? fr->units[0].r2 : NAN;
        l->acc = fr->n_val && fr->cls.k ? fr->cls.accuracy : NAN;
        if (!p->tty && !p->quiet) {
            if (fr->status != NN_OK)
                (void)fprintf(stderr, "%s: failed: %s\n", ev->fold < 0 ? "final fit" : "fold",
                              fr->error);
            else if (ev->fold >= 0 && fr->cls.k)
                (void)fprintf(stderr,
                              "fold %d/%d: %d epochs (best %d), accuracy %.4f, log loss %.4f, "
                              "AUC %.4f, %.1fs\n",
                              ev->fold + 1, p->n_folds, fr->epochs_run, fr->best_epoch,
                              fr->cls.accuracy, fr->cls.log_loss, fr->cls.roc_auc, fr->seconds);
            else if (ev->fold >= 0 && fr->units)
                (void)fprintf(stderr,
                              "fold %d/%d: %d epochs (best %d), R² %.4f, RMSE %.6g, %.1fs\n",
                              ev->fold + 1, p->n_folds, fr->epochs_run, fr->best_epoch,
                              fr->units[0].r2, fr->units[0].rmse, fr->seconds);
            else
                (void)fprintf(stderr, "final fit: %d epochs on %zu rows, %.1fs\n", fr->epochs_run,
                              fr->n_train, fr->seconds);
        }
    }
    if (p->tty && !p->quiet && (ev->kind != NN_CV_EPOCH || now() - p->last_draw > 0.1)) {
        draw(p);
        p->last_draw = now();
    }
}

static int write_text(const char *dir, const char *name, const char *text) {
    char path[4096];
    (void)snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int write_table(const char *dir, const char *name, nn_table *t) {
    char path[4096];
    (void)snprintf(path, sizeof path, "%s/%s", dir, name);
    nn_error err = {0};
    int rc = nn_csv_write_file(path, t, &err) == NN_OK ? 0 : -1;
    if (rc) (void)fprintf(stderr, "nn: %s\n", err.msg);
    nn_table_destroy(t);
    return rc;
}

/* metrics.json, predictions.csv, history.csv, model.json, spec.json */
static int write_outputs(const char *dir, const nn_spec *spec, const nn_table *data, nn_cv *cv) {
    const nn_cv_result *res = nn_cv_result_get(cv);
    json_t *metrics = nn_report_metrics(spec, res);
    char *mtext = metrics ? json_dumps(metrics, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(metrics);
    int rc = mtext ? write_text(dir, "metrics.json", mtext) : -1;
    free(mtext);
    if (rc == 0) rc = write_text(dir, "spec.json", spec->canonical);
    nn_table *t = NULL;
    nn_error err = {0};
    if (rc == 0 && (res->n_folds > 0 || res->n_skipped > 0)) {
        rc = nn_report_predictions(spec, data, res, &t, &err) == NN_OK
                 ? write_table(dir, "predictions.csv", t)
                 : -1;
    }
    if (rc == 0)
        rc = nn_report_history(res, &t, &err) == NN_OK ? write_table(dir, "history.csv", t) : -1;
    nn_model *model = nn_cv_take_model(cv);
    if (rc == 0 && model) {
        char path[4200];
        (void)snprintf(path, sizeof path, "%s/model.json", dir);
        rc = nn_model_save(model, path, &err) == NN_OK ? 0 : -1;
    }
    nn_model_destroy(model);
    if (rc)
        (void)fprintf(stderr, "nn: cannot write the results to %s%s%s\n", dir,
                      err.msg[0] ? ": " : "", err.msg);
    return rc;
}

/* The per-fold table of a classification. */
static void print_class_summary(const nn_spec *spec, const nn_cv_result *res, const char *dir) {
    const nn_labels *l = res->labels;
    (void)printf("%-8s %9s %9s %9s %9s %9s\n", "fold", "accuracy", "bal.acc", "log loss", "ROC AUC",
                 "F1 macro");
    for (int f = 0; f <= res->n_folds; f++) {
        const nn_class_metrics *m = f < res->n_folds ? &res->folds[f].cls : &res->overall_class;
        char name[16];
        (void)snprintf(name, sizeof name, "%d", f + 1);
        (void)printf("%-8s %9.4f %9.4f %9.4f %9.4f %9.4f\n", f < res->n_folds ? name : "overall",
                     m->accuracy, m->balanced_accuracy, m->log_loss, m->roc_auc, m->f1_macro);
    }
    if (res->n_folds > 1)
        (void)printf("fold mean ± sd: accuracy %.4f ± %.4f, log loss %.4f ± %.4f, ROC AUC %.4f ± "
                     "%.4f\n",
                     res->acc_mean, res->acc_sd, res->ll_mean, res->ll_sd, res->auc_mean,
                     res->auc_sd);
    if (l->n == 2)
        (void)printf("positive class \"%s\": F1 %.4f at 0.5; best F1 %.4f at threshold %.4g\n",
                     l->names[l->positive], res->at_half.f1, res->best_f1.f1,
                     res->best_f1.threshold);
    (void)printf("out-of-fold accuracy %.4f, log loss %.4f (%s); results in %s\n",
                 res->overall_class.accuracy, res->overall_class.log_loss, spec->targets[0], dir);
}

static void print_summary(const nn_spec *spec, const nn_cv_result *res, const char *dir) {
    (void)printf("%s (%s): %zu rows, ", spec->name, spec->targets[0], res->n_rows);
    if (res->labels) {
        (void)printf("%zu classes (", res->labels->n);
        for (size_t c = 0; c < res->labels->n && c < 8; c++)
            (void)printf("%s%s %zu", c ? ", " : "", res->labels->names[c], res->labels->counts[c]);
        (void)printf("%s), ", res->labels->n > 8 ? ", …" : "");
    }
    if (res->n_skipped)
        (void)printf("%zu without a target left out (predicted in predictions.csv), ",
                     res->n_skipped);
    if (res->n_folds == 0) {
        (void)printf("no validation; model trained on every row in %.1fs\n", res->train_seconds);
        (void)printf("results in %s\n", dir);
        return;
    }
    (void)printf("%d fold%s, %.1fs\n", res->n_folds, res->n_folds > 1 ? "s" : "",
                 res->train_seconds);
    if (res->labels) {
        print_class_summary(spec, res, dir);
        return;
    }
    (void)printf("%-8s %10s %14s %14s %9s\n", "fold", "R²", "RMSE", "MAE", "MAPE%");
    for (int f = 0; f < res->n_folds; f++) {
        const nn_metrics *m = &res->folds[f].units[0];
        (void)printf("%-8d %10.4f %14.6g %14.6g %9.2f\n", f + 1, m->r2, m->rmse, m->mae, m->mape);
    }
    const nn_metrics *o = &res->overall[0];
    (void)printf("%-8s %10.4f %14.6g %14.6g %9.2f\n", "overall", o->r2, o->rmse, o->mae, o->mape);
    if (res->n_folds > 1)
        (void)printf("%-8s %6.4f±%.4f %10.6g±%-8.3g %8.6g±%.3g\n", "mean±sd", res->r2_mean,
                     res->r2_sd, res->rmse_mean, res->rmse_sd, res->mae_mean, res->mae_sd);
    (void)printf("out-of-fold R² %.4f in %s's units (%.4f in model space); results in %s\n", o->r2,
                 spec->targets[0], res->overall_model[0].r2, dir);
}

static const char train_usage[] =
    "usage: nn train SPEC DATA [--out DIR] [--seed N] [--threads N] [--quiet]\n"
    "  SPEC         the job spec (JSON)\n"
    "  DATA         the CSV to learn from\n"
    "  --out DIR    where to write results (default runs/<spec name>)\n"
    "  --seed N     override the spec's seed (recorded in spec.json)\n"
    "  --threads N  folds trained at once (default: the number of cores);\n"
    "               results do not depend on it\n"
    "  --quiet      no progress output\n";

int cmd_train(int argc, char **argv) {
    const char *pos[2] = {NULL, NULL}, *out = NULL;
    int n_pos = 0, seed_set = 0, quiet = 0;
    long long seed = 0, threads = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return (void)fputs(train_usage, stdout), CLI_OK;
        else if (!strcmp(a, "--out") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(a, "--seed") && i + 1 < argc) {
            seed_set = 1;
            if ((seed = cli_parse_int("--seed", argv[++i], 9007199254740992LL)) < 0)
                return CLI_USAGE;
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            if ((threads = cli_parse_int("--threads", argv[++i], 64)) < 1) return CLI_USAGE;
        } else if (!strcmp(a, "--quiet"))
            quiet = 1;
        else if (a[0] == '-' || n_pos == 2) {
            (void)fprintf(stderr, "nn train: unexpected argument \"%s\"\n%s", a, train_usage);
            return CLI_USAGE;
        } else
            pos[n_pos++] = a;
    }
    if (n_pos != 2) return (void)fputs(train_usage, stderr), CLI_USAGE;
    nn_spec *spec = cli_load_spec(pos[0], seed_set, (uint64_t)seed);
    if (!spec) return CLI_USAGE;
    nn_table *data = cli_read_csv(pos[1], spec);
    if (!data) return nn_spec_destroy(spec), CLI_USAGE;
    char dir[4096];
    (void)snprintf(dir, sizeof dir, "%s%s", out ? "" : "runs/", out ? out : spec->name);
    progress p;
    memset(&p, 0, sizeof p);
    p.tty = isatty(2);
    p.quiet = quiet;
    p.t0 = now();
    nn_cv_cfg cfg = {on_report, &p, NULL};
    nn_cv *cv = NULL;
    nn_error err = {0};
    nn_spec_errors errs;
    int rc = CLI_OK;
    if (nn_cv_create(spec, data, &cfg, &cv, &errs, &err) != NN_OK) {
        for (size_t i = 0; i < errs.n; i++)
            (void)fprintf(stderr, "%s: %s: %s\n", pos[0], errs.items[i].pointer,
                          errs.items[i].message);
        if (errs.n == 0) (void)fprintf(stderr, "%s: %s\n", pos[1], err.msg);
        rc = CLI_USAGE;
    }
    if (rc == CLI_OK) {
        p.n_folds = nn_cv_n_folds(cv);
        p.n_lines = nn_cv_n_tasks(cv);
        p.lines = calloc((size_t)p.n_folds + 1, sizeof *p.lines);
        for (int i = 0; p.lines && i <= p.n_folds; i++) {
            p.lines[i].val_loss = NAN;
            p.lines[i].r2_units = NAN;
            p.lines[i].val_acc = p.lines[i].acc = NAN;
            p.lines[i].epochs = spec->epochs * spec->ensemble;
        }
        p.ensemble = spec->ensemble;
        p.total_epochs = (long long)spec->epochs * spec->ensemble * p.n_lines;
        if (!p.lines || cli_mkdirs(dir) != 0) {
            (void)fprintf(stderr, "nn: cannot create %s\n", dir);
            rc = CLI_FAIL;
        }
    }
    if (rc == CLI_OK && nn_cv_run(cv, (int)threads, &err) != NN_OK) {
        (void)fprintf(stderr, "nn: training failed: %s\n", err.msg);
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK && write_outputs(dir, spec, data, cv) != 0) rc = CLI_FAIL;
    if (rc == CLI_OK) print_summary(spec, nn_cv_result_get(cv), dir);
    free(p.lines);
    nn_cv_destroy(cv);
    nn_table_destroy(data);
    nn_spec_destroy(spec);
    return rc;
}
