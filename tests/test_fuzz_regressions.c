/* test_fuzz_regressions.c — replays fuzz inputs through a fuzz harness without libFuzzer.
 *
 * Linked with one of fuzz/fuzz_{csv,spec,model,http}.c (one executable per harness, see
 * tests/CMakeLists.txt); runs the harness's LLVMFuzzerInitialize (when it has one) and then its
 * LLVMFuzzerTestOneInput over every file of each directory given: the crashes the fuzzers found
 * (tests/data/fuzz-regressions/<target>/) and the seed corpora (fuzz/corpus/<target>/), so both
 * run in every build, normal and sanitized. A harness aborts on a broken property; ASan/UBSan
 * abort on memory errors; either fails the test.
 *   usage: test_fuzz_regressions_<target> DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs the harness on path; returns 0, or -1 when the file cannot be read. */
static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        (void)fclose(f);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1); /* exactly n bytes, so ASan sees reads past the input */
    if (!buf || fread(buf, 1, n, f) != n) {
        free(buf);
        (void)fclose(f);
        return -1;
    }
    (void)fclose(f);
    fprintf(stderr, "  %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

/* Runs every regular file of dir in name order; returns the count, or -1 on an I/O error. */
static int run_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **p = realloc(names, cap * sizeof *p);
            if (!p) break;
            names = p;
        }
        names[n] = strdup(e->d_name);
        if (names[n]) n++;
    }
    (void)closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        (void)snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(path) != 0) {
                fprintf(stderr, "cannot read %s\n", path);
                count = -1;
                break;
            }
            count++;
        }
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return count;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    int total = 0;
    for (int i = 1; i < argc; i++) {
        int n = run_dir(argv[i]);
        if (n < 0) return 1;
        fprintf(stderr, "%s: %d inputs\n", argv[i], n);
        total += n;
    }
    fprintf(stderr, "%d inputs replayed, no failure\n", total);
    return total > 0 ? 0 : 1;
}
