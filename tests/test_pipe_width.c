/* test_pipe_width.c — plans that would be wide: the plan knows each step's output width from
 * the fitted categories and refuses one over NN_MAX_COLUMNS at that step's pointer before any
 * table that wide exists, and a wide plan under the cap never builds rows × width either. Each
 * case runs in a child process whose peak resident memory (VmHWM) is measured: a 28,700-row
 * table with 6,000 categories used to grow it by about 900 MB before answering. */
#include "check.h"
#include "cv_fixture.h"

#include <sys/wait.h>
#include <unistd.h>

/* AddressSanitizer keeps freed memory in quarantine (256 MB by default) and pads every block:
 * its peak says nothing about what the code holds. The bound of a plan that allocates and frees
 * many blocks is checked in normal builds only. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* "cat,y" rows: cat takes n_cats values "c0".."c<n-1>" (each at least once), y a number. */
static nn_table *categories(size_t rows, size_t n_cats) {
    nn_table *t = NULL;
    if (nn_table_create(rows, &t, NULL) != NN_OK) abort();
    char **cat = calloc(rows, sizeof *cat);
    double *y = malloc(rows * sizeof *y);
    if (!cat || !y) abort();
    uint64_t s = 12345;
    for (size_t i = 0; i < rows; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        char buf[24];
        (void)snprintf(buf, sizeof buf, "c%zu", i < n_cats ? i : (size_t)(s >> 33) % n_cats);
        cat[i] = strdup(buf);
        y[i] = (double)(i % 97);
    }
    if (nn_table_add_text_take(t, "cat", cat, NULL, NULL) != NN_OK ||
        nn_table_add_number_take(t, "y", y, NULL, NULL) != NN_OK)
        abort();
    return t;
}

/* VmHWM of this process in kB. */
static long peak_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
    if (f) (void)fclose(f);
    return kb;
}

typedef struct outcome {
    long grew_kb; /* VmHWM after the plan minus VmHWM before it */
    int status;
    size_t n_errs, n_features;
    uint64_t cells;
    char pointer[128], message[256];
} outcome;

/* Plans spec on rows × n_cats in a child process; the child reports through a pipe. */
static outcome plan_in_child(const char *spec_json, size_t rows, size_t n_cats) {
    outcome o;
    memset(&o, 0, sizeof o);
    int fd[2];
    if (pipe(fd) != 0) abort();
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        nn_spec *s = parse(spec_json);
        nn_table *t = categories(rows, n_cats);
        long before = peak_kb();
        nn_spec_errors errs = {0};
        nn_plan *plan = NULL;
        o.status = nn_pipe_plan(s, t, &plan, &errs);
        o.grew_kb = peak_kb() - before;
        o.n_errs = errs.n;
        if (plan) o.n_features = plan->n_features, o.cells = plan->cells;
        if (errs.n) {
            (void)snprintf(o.pointer, sizeof o.pointer, "%s", errs.items[0].pointer);
            (void)snprintf(o.message, sizeof o.message, "%s", errs.items[0].message);
        }
        ssize_t w = write(fd[1], &o, sizeof o);
        _exit(w == (ssize_t)sizeof o ? 0 : 1);
    }
    close(fd[1]);
    ssize_t got = read(fd[0], &o, sizeof o);
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(got == (ssize_t)sizeof o && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return o;
}

static void test_plan_refuses_a_one_hot_over_the_cap_at_its_pointer_cheaply(void) {
    outcome o = plan_in_child("{\"target\": \"y\", \"preprocess\": [{\"op\": \"one_hot\", "
                              "\"column\": \"cat\", \"max_categories\": 10000}], "
                              "\"training\": {\"epochs\": 1}}",
                              28700, 6000);
    CHECK(o.status == NN_ERR_SPEC);
    CHECK(o.n_errs == 1);
    CHECK_STR(o.pointer, "/preprocess/0/max_categories");
    CHECK_STR(o.message, "one_hot makes 6000 columns, so the table would have 6001, over the "
                         "limit of 4096; lower max_categories");
    /* 28,700 rows × 4,097 columns of doubles would be 940 MB */
    if (o.grew_kb > 64 * 1024) fprintf(stderr, "peak grew by %ld kB\n", o.grew_kb);
    CHECK(o.grew_kb >= 0 && o.grew_kb < 64 * 1024);
}

static void test_wide_plan_under_the_cap_is_not_materialized(void) {
    /* 20,000 rows × 3,001 inputs: 480 MB as a table of doubles, 240 MB as the float matrix the
       plan reports but does not build; normalize after one_hot reads every one-hot column */
    outcome o = plan_in_child("{\"target\": \"y\", \"preprocess\": [{\"op\": \"one_hot\", "
                              "\"column\": \"cat\", \"max_categories\": 10000}, {\"op\": "
                              "\"normalize\", \"columns\": \"inputs\"}], "
                              "\"training\": {\"epochs\": 1}}",
                              20000, 3000);
    CHECK(o.status == NN_OK);
    CHECK(o.n_features == 3000);
    CHECK(o.cells == (uint64_t)20000 * 3000);
    if (o.grew_kb > 96 * 1024) fprintf(stderr, "peak grew by %ld kB\n", o.grew_kb);
    CHECK(o.grew_kb >= 0 && (UNDER_ASAN || o.grew_kb < 96 * 1024));
}

static void test_max_categories_over_the_cap_but_few_values_plans(void) {
    /* the cap is on what the data makes, not on the number written */
    outcome o = plan_in_child("{\"target\": \"y\", \"preprocess\": [{\"op\": \"one_hot\", "
                              "\"column\": \"cat\", \"max_categories\": 10000}], "
                              "\"training\": {\"epochs\": 1}}",
                              500, 40);
    CHECK(o.status == NN_OK && o.n_features == 40);
}

int main(void) {
    RUN(test_plan_refuses_a_one_hot_over_the_cap_at_its_pointer_cheaply);
    RUN(test_wide_plan_under_the_cap_is_not_materialized);
    RUN(test_max_categories_over_the_cap_but_few_values_plans);
    return check_summary();
}
