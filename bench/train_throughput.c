/* train_throughput — training throughput of the reference King County network shape.
 *
 *   train_throughput [--epochs N] [--rows N] [--threads N] [--seed S] [--json]
 *
 * DESIGN: the network is 34 inputs → 8 hidden ReLU layers of 16 units → 1 linear output,
 * glorot_uniform weights, zero biases, MSE loss, batch 128. The data are `rows` rows (default
 * 18,912: one training fold of King County) of inputs U[0,1) from an nn_rng stream and a smooth
 * nonlinear target of them (target() below; bench/torch_throughput.py uses the same formula).
 * For each optimizer (adam lr 0.001, momentum lr 0.01 μ 0.9) it times nn_train_fit alone
 * (network creation and initialization are outside the clock) and prints samples/s, where one
 * sample is one row in one epoch. Each training first runs a short untimed warm-up.
 *
 * With --threads N > 1 it first runs one training alone, then N independent trainings at once in
 * N pthreads — each its own network, its own stream group (like N folds of a cross-validation),
 * all reading the same borrowed data — started together behind a barrier. The aggregate rate is
 * N · rows · epochs over the wall time from the barrier to the last join; scaling is aggregate
 * over the 1-thread rate. OpenBLAS is set to one thread: parallelism is across trainings.
 *
 * Exit status: 0 on success; 1 if any training failed, ended with a non-finite loss, or (with
 * ≥ 2 epochs) did not lower its training loss from the first epoch to the last; 2 on bad usage.
 */
#include "nn_net.h"
#include "nn_train.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_INPUTS 34
#define N_HIDDEN 8
#define HIDDEN_UNITS 16
#define BATCH 128
#define MAX_THREADS 64
#define MAX_ROWS 10000000
#define WARMUP_ROWS 2048

typedef struct bench_opts {
    int epochs;
    long rows;
    int threads;
    int json;
    uint64_t seed;
} bench_opts;

/* One training: its inputs, and what it measured. */
typedef struct run {
    const nn_float *x; /* (rows, N_INPUTS), borrowed */
    const nn_float *y; /* (rows, 1), borrowed */
    size_t rows;
    int epochs;
    uint64_t seed, group;
    nn_optim_cfg optim;
    pthread_barrier_t *start; /* NULL when run alone */
    double seconds;           /* nn_train_fit wall time */
    double first_loss, last_loss;
    int epochs_run;
    nn_status status;
    nn_error err;
} run;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A smooth nonlinear target of the 34 inputs, roughly in [-1, 3]. Keep in step with
 * torch_throughput.py. */
static double target(const nn_float *x) {
    double s = 0.0;
    for (int j = 4; j < N_INPUTS; j++) s += (double)x[j] * (double)x[j];
    return sin(3.0 * x[0]) + (double)x[1] * (double)x[2] + 0.5 * cos(2.0 * x[3]) +
           s / (N_INPUTS - 4);
}

static int record_loss(void *user, nn_net *net, int epoch, double loss, double lr) {
    (void)net, (void)lr;
    run *r = user;
    if (epoch == 0) r->first_loss = loss;
    return 0;
}

/* Creates and initializes the network, trains it, and records time and losses in r. */
static void *train_one(void *arg) {
    run *r = arg;
    nn_layer_cfg layers[N_HIDDEN + 1];
    for (int i = 0; i <= N_HIDDEN; i++) {
        layers[i] = (nn_layer_cfg){
            .units = i < N_HIDDEN ? HIDDEN_UNITS : 1,
            .act = i < N_HIDDEN ? NN_ACT_RELU : NN_ACT_LINEAR,
            .weight_init = NN_INIT_GLOROT_UNIFORM,
            .bias_init = NN_INIT_ZEROS,
        };
    }
    nn_net_cfg cfg = {.n_inputs = N_INPUTS, .n_layers = N_HIDDEN + 1, .layers = layers};
    nn_net *net = NULL;
    r->status = nn_net_create(&cfg, &net, &r->err);
    if (r->status != NN_OK) {
        if (r->start) pthread_barrier_wait(r->start);
        return NULL;
    }
    nn_net_init(net, r->seed, NN_STREAM(r->group, NN_STREAM_INIT));
    nn_train_cfg tc = nn_train_defaults();
    tc.epochs = r->epochs;
    tc.batch_size = BATCH;
    tc.loss.kind = NN_LOSS_MSE;
    tc.optim = r->optim;
    tc.seed = r->seed;
    tc.group = r->group;
    tc.on_epoch = record_loss;
    tc.user = r;
    nn_train_result res = {0, 0.0, 0};
    /* Warm-up outside the clock (first-touch of buffers, OpenBLAS per-thread setup): one epoch on
     * at most WARMUP_ROWS rows, then the network is initialized afresh. */
    nn_train_cfg warm = tc;
    warm.epochs = 1;
    warm.on_epoch = NULL;
    r->status = nn_train_fit(net, r->x, r->y, r->rows < WARMUP_ROWS ? r->rows : WARMUP_ROWS, &warm,
                             NULL, &r->err);
    nn_net_init(net, r->seed, NN_STREAM(r->group, NN_STREAM_INIT));
    if (r->start) pthread_barrier_wait(r->start);
    if (r->status != NN_OK) {
        nn_net_destroy(net);
        return NULL;
    }
    double t0 = now();
    r->status = nn_train_fit(net, r->x, r->y, r->rows, &tc, &res, &r->err);
    r->seconds = now() - t0;
    r->last_loss = res.last_loss;
    r->epochs_run = res.epochs_run;
    nn_net_destroy(net);
    return NULL;
}

/* Checks a finished run; prints why it failed to stderr. Returns 0 if it is sound. */
static int check_run(const run *r, const char *optim_name) {
    if (r->status != NN_OK) {
        fprintf(stderr, "train_throughput: %s, group %llu: %s\n", optim_name,
                (unsigned long long)r->group, r->err.msg);
        return 1;
    }
    if (!isfinite(r->last_loss)) {
        fprintf(stderr, "train_throughput: %s: final loss is not finite (%g)\n", optim_name,
                r->last_loss);
        return 1;
    }
    if (r->epochs_run >= 2 && !(r->last_loss < r->first_loss)) {
        fprintf(stderr,
                "train_throughput: %s: loss did not decrease (epoch 1 %.6g, epoch %d %.6g)\n",
                optim_name, r->first_loss, r->epochs_run, r->last_loss);
        return 1;
    }
    return 0;
}

static run run_template(const bench_opts *o, const nn_float *x, const nn_float *y,
                        nn_optim_cfg optim, uint64_t group) {
    run r;
    memset(&r, 0, sizeof r);
    r.x = x;
    r.y = y;
    r.rows = (size_t)o->rows;
    r.epochs = o->epochs;
    r.seed = o->seed;
    r.group = group;
    r.optim = optim;
    return r;
}

typedef struct result {
    double single;    /* samples/s of one training alone */
    double aggregate; /* samples/s of `threads` trainings at once (= single when threads is 1) */
    double first_loss, last_loss; /* of the training run alone */
} result;

/* Runs one optimizer alone, then (threads > 1) in `threads` trainings at once. Returns the number
 * of failed checks. */
static int bench_optim(const bench_opts *o, const nn_float *x, const nn_float *y,
                       nn_optim_cfg optim, result *out) {
    const char *name = nn_optim_name(optim.kind);
    double samples = (double)o->rows * (double)o->epochs;
    run alone = run_template(o, x, y, optim, 1);
    train_one(&alone);
    int failed = check_run(&alone, name);
    out->single = samples / alone.seconds;
    out->aggregate = out->single;
    out->first_loss = alone.first_loss;
    out->last_loss = alone.last_loss;
    if (o->threads == 1) return failed;

    int n = o->threads;
    run runs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    pthread_barrier_t start;
    /* n workers plus this thread, which starts the clock when all are ready */
    if (pthread_barrier_init(&start, NULL, (unsigned)n + 1) != 0) {
        fprintf(stderr, "train_throughput: cannot create a barrier\n");
        return failed + 1;
    }
    int started = 0;
    for (int t = 0; t < n; t++) {
        runs[t] = run_template(o, x, y, optim, (uint64_t)t + 1);
        runs[t].start = &start;
        if (pthread_create(&tids[t], NULL, train_one, &runs[t]) != 0) {
            fprintf(stderr, "train_throughput: cannot start thread %d\n", t);
            break;
        }
        started++;
    }
    if (started < n) {
        /* the barrier can never fill: this is not recoverable */
        exit(1);
    }
    pthread_barrier_wait(&start);
    double t0 = now();
    for (int t = 0; t < n; t++) pthread_join(tids[t], NULL);
    double wall = now() - t0;
    pthread_barrier_destroy(&start);
    for (int t = 0; t < n; t++) failed += check_run(&runs[t], name);
    out->aggregate = (double)n * samples / wall;
    return failed;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static void usage(void) {
    fprintf(stderr, "usage: train_throughput [--epochs N] [--rows N] [--threads N] [--seed S] "
                    "[--json]\n");
}

static int parse_args(int argc, char **argv, bench_opts *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        if (strcmp(a, "--json") == 0) {
            o->json = 1;
            continue;
        }
        if (i + 1 >= argc) return -1;
        const char *val = argv[++i];
        if (strcmp(a, "--epochs") == 0 && parse_long(val, 1, 100000, &v) == 0)
            o->epochs = (int)v;
        else if (strcmp(a, "--rows") == 0 && parse_long(val, 1, MAX_ROWS, &v) == 0)
            o->rows = v;
        else if (strcmp(a, "--threads") == 0 && parse_long(val, 1, MAX_THREADS, &v) == 0)
            o->threads = (int)v;
        else if (strcmp(a, "--seed") == 0 && parse_long(val, 0, 1L << 30, &v) == 0)
            o->seed = (uint64_t)v;
        else
            return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    bench_opts o = {.epochs = 10, .rows = 18912, .threads = 1, .json = 0, .seed = 42};
    if (parse_args(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    openblas_set_num_threads(1);

    size_t rows = (size_t)o.rows;
    nn_float *x = malloc(rows * N_INPUTS * sizeof *x);
    nn_float *y = malloc(rows * sizeof *y);
    if (!x || !y) {
        fprintf(stderr, "train_throughput: out of memory for %zu rows\n", rows);
        free(x);
        free(y);
        return 1;
    }
    nn_rng rng;
    nn_rng_init(&rng, o.seed, NN_STREAM(0, NN_STREAM_PERMUTE + 1)); /* a stream of its own */
    for (size_t k = 0; k < rows * N_INPUTS; k++) x[k] = (nn_float)nn_rng_uniform(&rng);
    for (size_t r = 0; r < rows; r++) y[r] = (nn_float)target(x + r * N_INPUTS);

    nn_optim_cfg optims[2] = {nn_optim_defaults(NN_OPTIM_ADAM),
                              nn_optim_defaults(NN_OPTIM_MOMENTUM)};
    optims[0].learning_rate = 0.001;
    optims[1].learning_rate = 0.01;
    optims[1].momentum = 0.9;
    result res[2];
    int failed = 0;
    for (int i = 0; i < 2; i++) failed += bench_optim(&o, x, y, optims[i], &res[i]);

    if (o.json) {
        printf("{\"impl\": \"nnd\", \"float\": \"%s\", \"rows\": %ld, \"epochs\": %d, "
               "\"batch\": %d, \"threads\": %d, \"results\": [",
               NN_FLOAT_NAME, o.rows, o.epochs, BATCH, o.threads);
        for (int i = 0; i < 2; i++)
            printf("%s{\"optimizer\": \"%s\", \"samples_per_s_1\": %.1f, "
                   "\"samples_per_s_n\": %.1f, \"scaling\": %.3f, \"first_loss\": %.6g, "
                   "\"last_loss\": %.6g}",
                   i ? ", " : "", nn_optim_name(optims[i].kind), res[i].single, res[i].aggregate,
                   res[i].aggregate / res[i].single, res[i].first_loss, res[i].last_loss);
        printf("], \"ok\": %s}\n", failed ? "false" : "true");
    } else {
        printf("nnd train_throughput: %d-%dx%d-1 relu, batch %d, %ld rows, %d epochs, %s\n",
               N_INPUTS, N_HIDDEN, HIDDEN_UNITS, BATCH, o.rows, o.epochs, NN_FLOAT_NAME);
        for (int i = 0; i < 2; i++) {
            printf("  %-9s 1 thread: %12.0f samples/s   loss %.5f -> %.5f\n",
                   nn_optim_name(optims[i].kind), res[i].single, res[i].first_loss,
                   res[i].last_loss);
            if (o.threads > 1)
                printf("  %-9s %d threads: %11.0f samples/s   scaling %.2fx\n", "", o.threads,
                       res[i].aggregate, res[i].aggregate / res[i].single);
        }
    }
    free(x);
    free(y);
    return failed ? 1 : 0;
}
