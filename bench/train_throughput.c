/* train_throughput — training throughput of tabular network shapes in libnn.
 *
 *   train_throughput [--net seed|wide] [--batch N] [--gemm auto|blas] [--optim both|adam|momentum]
 *                    [--epochs N] [--rows N] [--threads N] [--repeat N] [--seed S] [--json]
 *
 * DESIGN: the networks are `seed`, the King County seed report's shape (34 inputs → 8 hidden ReLU
 * layers of 16 units → 1 linear output), and `wide` (34 → 3 × 128 ReLU → 1); glorot_uniform
 * weights, zero biases, MSE loss, batch 128 unless --batch says otherwise. The data are `rows`
 * rows (default 18,912: one training fold of King County) of inputs U[0,1) from an nn_rng stream
 * and a smooth nonlinear target of them (target() below; bench/torch_throughput.py uses the same
 * formula). --gemm chooses the products' path (auto: libxsmm kernels where the build has them;
 * blas: OpenBLAS). For each optimizer (adam lr 0.001, momentum lr 0.01 μ 0.9) it times
 * nn_train_fit alone (network creation and initialization are outside the clock), `repeat` times,
 * and reports the best run's samples/s, where one sample is one row in one epoch, and the GFLOP/s
 * of the products (flops_per_sample: 2·Σ in·out forward, as much for the weight gradients, and
 * 2·Σ in·out for the input gradients of every layer but the first). Each training first runs a
 * short untimed warm-up.
 *
 * With --threads N > 1 it then runs N independent trainings at once in N pthreads — each its own
 * network and stream group (like N folds of a cross-validation), all reading the same borrowed
 * data — started together behind a barrier. The aggregate rate is N · rows · epochs over the wall
 * time from the barrier to the last join. OpenBLAS is set to one thread: parallelism is across
 * trainings.
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
#define MAX_LAYERS 9
#define MAX_THREADS 64
#define MAX_ROWS 10000000
#define MAX_REPEAT 20
#define WARMUP_ROWS 2048

typedef struct bench_opts {
    int epochs;
    long rows;
    int threads;
    int repeat;
    int batch;
    int json;
    int wide; /* 0: seed (8 × 16), 1: wide (3 × 128) */
    nn_gemm_path gemm;
    const char *optim; /* "both", "adam" or "momentum" */
    uint64_t seed;
} bench_opts;

/* One training: its inputs, and what it measured. */
typedef struct run {
    const bench_opts *o;
    const nn_float *x; /* (rows, N_INPUTS), borrowed */
    const nn_float *y; /* (rows, 1), borrowed */
    uint64_t group;
    nn_optim_cfg optim;
    pthread_barrier_t *start; /* NULL when run alone */
    double seconds;           /* nn_train_fit wall time */
    double first_loss, last_loss;
    int epochs_run;
    int xsmm, products; /* products that ran as libxsmm kernels, out of products */
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

/* The network's layers into layers[]; returns their number. */
static int net_layers(const bench_opts *o, nn_layer_cfg *layers) {
    int hidden = o->wide ? 3 : 8, units = o->wide ? 128 : 16;
    for (int i = 0; i <= hidden; i++)
        layers[i] = (nn_layer_cfg){
            .units = i < hidden ? units : 1,
            .act = i < hidden ? NN_ACT_RELU : NN_ACT_LINEAR,
            .weight_init = NN_INIT_GLOROT_UNIFORM,
            .bias_init = NN_INIT_ZEROS,
        };
    return hidden + 1;
}

static double flops_per_sample(const bench_opts *o) {
    nn_layer_cfg layers[MAX_LAYERS];
    int n = net_layers(o, layers), in = N_INPUTS;
    double macs = 0;
    for (int i = 0; i < n; i++) {
        double m = (double)in * layers[i].units;
        macs += i == 0 ? 2 * m : 3 * m; /* forward, dW, and dX but for the first layer */
        in = layers[i].units;
    }
    return 2 * macs;
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
    const bench_opts *o = r->o;
    nn_layer_cfg layers[MAX_LAYERS];
    nn_net_cfg cfg = {.n_inputs = N_INPUTS, .gemm = o->gemm, .layers = layers};
    cfg.n_layers = net_layers(o, layers);
    nn_net *net = NULL;
    r->status = nn_net_create(&cfg, &net, &r->err);
    if (r->status != NN_OK) {
        if (r->start) (void)pthread_barrier_wait(r->start);
        return NULL;
    }
    r->xsmm = nn_net_xsmm_products(net, o->batch, &r->products);
    nn_net_init(net, o->seed, NN_STREAM(r->group, NN_STREAM_INIT));
    nn_train_cfg tc = nn_train_defaults();
    tc.epochs = o->epochs;
    tc.batch_size = o->batch;
    tc.loss.kind = NN_LOSS_MSE;
    tc.optim = r->optim;
    tc.seed = o->seed;
    tc.group = r->group;
    tc.on_epoch = record_loss;
    tc.user = r;
    nn_train_result res = {0, 0.0, 0};
    /* Warm-up outside the clock (first touch of buffers, kernel generation): one epoch on at
     * most WARMUP_ROWS rows, then the network is initialized afresh. */
    nn_train_cfg warm = tc;
    warm.epochs = 1;
    warm.on_epoch = NULL;
    size_t rows = (size_t)o->rows;
    r->status = nn_train_fit(net, r->x, r->y, rows < WARMUP_ROWS ? rows : WARMUP_ROWS, &warm, NULL,
                             &r->err);
    nn_net_init(net, o->seed, NN_STREAM(r->group, NN_STREAM_INIT));
    if (r->start) (void)pthread_barrier_wait(r->start);
    if (r->status != NN_OK) {
        nn_net_destroy(net);
        return NULL;
    }
    double t0 = now();
    r->status = nn_train_fit(net, r->x, r->y, rows, &tc, &res, &r->err);
    r->seconds = now() - t0;
    r->last_loss = res.last_loss;
    r->epochs_run = res.epochs_run;
    nn_net_destroy(net);
    return NULL;
}

/* Checks a finished run; prints why it failed to stderr. Returns 0 if it is sound. */
static int check_run(const run *r, const char *optim_name) {
    if (r->status != NN_OK) {
        (void)fprintf(stderr, "train_throughput: %s, group %llu: %s\n", optim_name,
                      (unsigned long long)r->group, r->err.msg);
        return 1;
    }
    if (!isfinite(r->last_loss)) {
        (void)fprintf(stderr, "train_throughput: %s: final loss is not finite (%g)\n", optim_name,
                      r->last_loss);
        return 1;
    }
    if (r->epochs_run >= 2 && !(r->last_loss < r->first_loss)) {
        (void)fprintf(stderr,
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
    r.o = o;
    r.x = x;
    r.y = y;
    r.group = group;
    r.optim = optim;
    return r;
}

typedef struct result {
    double single;    /* samples/s of one training alone, best of `repeat` */
    double aggregate; /* samples/s of `threads` trainings at once (= single when threads is 1) */
    double first_loss, last_loss; /* of the training run alone */
    int xsmm, products;
} result;

/* Runs `threads` trainings at once; returns the aggregate samples/s, or 0 on a failure to start
 * threads. *failed counts failed checks. */
static double run_parallel(const bench_opts *o, const nn_float *x, const nn_float *y,
                           nn_optim_cfg optim, int *failed) {
    int n = o->threads;
    run runs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    pthread_barrier_t start;
    /* n workers plus this thread, which starts the clock when all are ready */
    if (pthread_barrier_init(&start, NULL, (unsigned)n + 1) != 0) {
        (void)fprintf(stderr, "train_throughput: cannot create a barrier\n");
        return 0;
    }
    for (int t = 0; t < n; t++) {
        runs[t] = run_template(o, x, y, optim, (uint64_t)t + 1);
        runs[t].start = &start;
        if (pthread_create(&tids[t], NULL, train_one, &runs[t]) != 0) {
            /* the barrier can never fill: this is not recoverable */
            (void)fprintf(stderr, "train_throughput: cannot start thread %d\n", t);
            abort();
        }
    }
    (void)pthread_barrier_wait(&start);
    double t0 = now();
    for (int t = 0; t < n; t++) (void)pthread_join(tids[t], NULL);
    double wall = now() - t0;
    (void)pthread_barrier_destroy(&start);
    for (int t = 0; t < n; t++) *failed += check_run(&runs[t], nn_optim_name(optim.kind));
    return (double)n * (double)o->rows * o->epochs / wall;
}

/* Runs one optimizer alone `repeat` times, then (threads > 1) in `threads` trainings at once.
 * Returns the number of failed checks. */
static int bench_optim(const bench_opts *o, const nn_float *x, const nn_float *y,
                       nn_optim_cfg optim, result *out) {
    const char *name = nn_optim_name(optim.kind);
    double samples = (double)o->rows * (double)o->epochs;
    int failed = 0;
    memset(out, 0, sizeof *out);
    for (int k = 0; k < o->repeat; k++) {
        run alone = run_template(o, x, y, optim, 1);
        train_one(&alone);
        failed += check_run(&alone, name);
        double rate = alone.seconds > 0 ? samples / alone.seconds : 0;
        if (rate > out->single) out->single = rate;
        out->first_loss = alone.first_loss;
        out->last_loss = alone.last_loss;
        out->xsmm = alone.xsmm;
        out->products = alone.products;
    }
    out->aggregate = out->single;
    if (o->threads > 1) out->aggregate = run_parallel(o, x, y, optim, &failed);
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
    (void)fprintf(stderr,
                  "usage: train_throughput [--net seed|wide] [--batch N] [--gemm auto|blas] "
                  "[--optim both|adam|momentum] [--epochs N] [--rows N] [--threads N] "
                  "[--repeat N] [--seed S] [--json]\n");
}

/* One "--name value" option into o; returns 0, or -1 if it is unknown or its value is bad. */
static int parse_option(const char *a, const char *val, bench_opts *o) {
    long v;
    if (strcmp(a, "--net") == 0 && (strcmp(val, "seed") == 0 || strcmp(val, "wide") == 0))
        o->wide = strcmp(val, "wide") == 0;
    else if (strcmp(a, "--gemm") == 0 && (strcmp(val, "auto") == 0 || strcmp(val, "blas") == 0))
        o->gemm = strcmp(val, "blas") == 0 ? NN_GEMM_BLAS : NN_GEMM_AUTO;
    else if (strcmp(a, "--optim") == 0 &&
             (!strcmp(val, "both") || !strcmp(val, "adam") || !strcmp(val, "momentum")))
        o->optim = val;
    else if (strcmp(a, "--batch") == 0 && parse_long(val, 1, NN_MAX_BATCH, &v) == 0)
        o->batch = (int)v;
    else if (strcmp(a, "--epochs") == 0 && parse_long(val, 1, 100000, &v) == 0)
        o->epochs = (int)v;
    else if (strcmp(a, "--rows") == 0 && parse_long(val, 1, MAX_ROWS, &v) == 0)
        o->rows = v;
    else if (strcmp(a, "--threads") == 0 && parse_long(val, 1, MAX_THREADS, &v) == 0)
        o->threads = (int)v;
    else if (strcmp(a, "--repeat") == 0 && parse_long(val, 1, MAX_REPEAT, &v) == 0)
        o->repeat = (int)v;
    else if (strcmp(a, "--seed") == 0 && parse_long(val, 0, 1L << 30, &v) == 0)
        o->seed = (uint64_t)v;
    else
        return -1;
    return 0;
}

static int parse_args(int argc, char **argv, bench_opts *o) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            o->json = 1;
            continue;
        }
        if (i + 1 >= argc || parse_option(argv[i], argv[i + 1], o) != 0) return -1;
        i++;
    }
    return 0;
}

static void print_results(const bench_opts *o, const nn_optim_cfg *optims, const result *res, int n,
                          int failed) {
    double fps = flops_per_sample(o);
    const char *net = o->wide ? "34-3x128-1" : "34-8x16-1";
    const char *gemm = o->gemm == NN_GEMM_BLAS ? "blas" : "auto";
    if (o->json) {
        char xsmm[128];
        (void)nn_xsmm_config(xsmm, sizeof xsmm);
        printf("{\"impl\": \"nnd\", \"net\": \"%s\", \"gemm\": \"%s\", \"float\": \"%s\", "
               "\"blas\": \"%s\", \"xsmm\": \"%s\", \"rows\": %ld, \"epochs\": %d, "
               "\"batch\": %d, \"threads\": %d, \"flops_per_sample\": %.0f, \"results\": [",
               net, gemm, NN_FLOAT_NAME, nn_blas_config(), xsmm, o->rows, o->epochs, o->batch,
               o->threads, fps);
        for (int i = 0; i < n; i++)
            printf("%s{\"optimizer\": \"%s\", \"samples_per_s_1\": %.1f, "
                   "\"samples_per_s_n\": %.1f, \"scaling\": %.3f, \"first_loss\": %.6g, "
                   "\"last_loss\": %.6g, \"xsmm_products\": %d, \"products\": %d}",
                   i ? ", " : "", nn_optim_name(optims[i].kind), res[i].single, res[i].aggregate,
                   res[i].aggregate / res[i].single, res[i].first_loss, res[i].last_loss,
                   res[i].xsmm, res[i].products);
        printf("], \"ok\": %s}\n", failed ? "false" : "true");
        return;
    }
    printf("nnd train_throughput: %s relu, batch %d, %ld rows, %d epochs, %s, products %s "
           "(%d of %d libxsmm)\n",
           net, o->batch, o->rows, o->epochs, NN_FLOAT_NAME, gemm, res[0].xsmm, res[0].products);
    for (int i = 0; i < n; i++) {
        printf("  %-9s 1 thread: %12.0f samples/s  %6.1f GFLOP/s   loss %.5f -> %.5f\n",
               nn_optim_name(optims[i].kind), res[i].single, res[i].single * fps / 1e9,
               res[i].first_loss, res[i].last_loss);
        if (o->threads > 1)
            printf("  %-9s %d threads: %11.0f samples/s   scaling %.2fx\n", "", o->threads,
                   res[i].aggregate, res[i].aggregate / res[i].single);
    }
}

int main(int argc, char **argv) {
    bench_opts o = {.epochs = 10,
                    .rows = 18912,
                    .threads = 1,
                    .repeat = 1,
                    .batch = 128,
                    .gemm = NN_GEMM_AUTO,
                    .optim = "both",
                    .seed = 42};
    if (parse_args(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    openblas_set_num_threads(1);

    size_t rows = (size_t)o.rows;
    nn_float *x = malloc(rows * N_INPUTS * sizeof *x);
    nn_float *y = malloc(rows * sizeof *y);
    if (!x || !y) {
        (void)fprintf(stderr, "train_throughput: out of memory for %zu rows\n", rows);
        free(x);
        free(y);
        return 1;
    }
    nn_rng rng;
    nn_rng_init(&rng, o.seed, NN_STREAM(0, NN_STREAM_PERMUTE + 1)); /* a stream of its own */
    for (size_t r = 0; r < rows; r++) {
        nn_float row[N_INPUTS];
        for (int j = 0; j < N_INPUTS; j++) row[j] = (nn_float)nn_rng_uniform(&rng);
        memcpy(x + r * N_INPUTS, row, sizeof row);
        y[r] = (nn_float)target(row);
    }

    nn_optim_cfg optims[2];
    int n = 0;
    if (strcmp(o.optim, "momentum") != 0) {
        optims[n] = nn_optim_defaults(NN_OPTIM_ADAM);
        optims[n++].learning_rate = 0.001;
    }
    if (strcmp(o.optim, "adam") != 0) {
        optims[n] = nn_optim_defaults(NN_OPTIM_MOMENTUM);
        optims[n].learning_rate = 0.01;
        optims[n++].momentum = 0.9;
    }
    result res[2];
    int failed = 0;
    for (int i = 0; i < n; i++) failed += bench_optim(&o, x, y, optims[i], &res[i]);
    print_results(&o, optims, res, n, failed);
    free(x);
    free(y);
    return failed ? 1 : 0;
}
