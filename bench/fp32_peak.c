/* fp32_peak — the single-precision peak of one core of this machine, measured.
 *
 *   fp32_peak [--seconds S] [--json]
 *
 * DESIGN: the peak is what a loop of independent fused multiply-adds reaches on one thread:
 * ACCUMULATORS vector registers, each updated by an FMA per iteration, more chains than the FMA
 * units' latency × throughput needs (4 cycles × 2 units = 8), so the loop runs at the FMA
 * throughput. It runs the widest vectors the CPU has (AVX-512, else AVX2 + FMA, chosen at run
 * time, as libxsmm and nn_simd.h do) and reports flops = 2 · lanes · accumulators · iterations
 * over the wall time of the best of three runs. Other x86-64 CPUs and other architectures get a
 * portable loop (multiplies and adds, no FMA), a lower bound that the output names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86 1
#endif

#define ACCUMULATORS 12
#define RUNS 3

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* a_i = a_i · x + y for every accumulator: one FMA each per iteration, independent chains. */
#define FMA_ROUND(F)                                                                               \
    a0 = F(a0, x, y), a1 = F(a1, x, y), a2 = F(a2, x, y), a3 = F(a3, x, y), a4 = F(a4, x, y),      \
    a5 = F(a5, x, y), a6 = F(a6, x, y), a7 = F(a7, x, y), a8 = F(a8, x, y), a9 = F(a9, x, y),      \
    a10 = F(a10, x, y), a11 = F(a11, x, y)

#ifdef HAVE_X86
__attribute__((target("avx512f"))) static float fma_avx512(long iters) {
    __m512 x = _mm512_set1_ps(0.999999F), y = _mm512_set1_ps(1e-7F);
    __m512 a0 = x, a1 = y, a2 = x, a3 = y, a4 = x, a5 = y, a6 = x, a7 = y, a8 = x, a9 = y, a10 = x,
           a11 = y;
    for (long i = 0; i < iters; i++) FMA_ROUND(_mm512_fmadd_ps);
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float fma_avx2(long iters) {
    __m256 x = _mm256_set1_ps(0.999999F), y = _mm256_set1_ps(1e-7F);
    __m256 a0 = x, a1 = y, a2 = x, a3 = y, a4 = x, a5 = y, a6 = x, a7 = y, a8 = x, a9 = y, a10 = x,
           a11 = y;
    for (long i = 0; i < iters; i++) FMA_ROUND(_mm256_fmadd_ps);
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}
#endif

/* The portable loop: 4-lane vectors, a multiply and an add per step. */
typedef float v4 __attribute__((vector_size(16)));
static v4 mul_add(v4 a, v4 x, v4 y) { return a * x + y; }
static float fma_portable(long iters) {
    v4 x = {0.999999F, 0.999999F, 0.999999F, 0.999999F}, y = {1e-7F, 1e-7F, 1e-7F, 1e-7F};
    v4 a0 = x, a1 = y, a2 = x, a3 = y, a4 = x, a5 = y, a6 = x, a7 = y, a8 = x, a9 = y, a10 = x,
       a11 = y;
    for (long i = 0; i < iters; i++) FMA_ROUND(mul_add);
    v4 s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    return s[0];
}

typedef struct kind {
    const char *name;
    int lanes;
    float (*run)(long);
} kind;

static kind pick(void) {
#ifdef HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return (kind){"AVX-512 FMA", 16, fma_avx512};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return (kind){"AVX2 FMA", 8, fma_avx2};
#endif
    return (kind){"portable multiply-add (lower bound)", 4, fma_portable};
}

int main(int argc, char **argv) {
    double seconds = 0.5;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (*end || !(seconds > 0 && seconds < 60)) {
                (void)fprintf(stderr, "fp32_peak: --seconds takes a number in (0, 60)\n");
                return 2;
            }
        } else {
            (void)fprintf(stderr, "usage: fp32_peak [--seconds S] [--json]\n");
            return 2;
        }
    }
    kind k = pick();
    /* calibrate: iterations for about `seconds` per run */
    long iters = 1000000;
    double t0 = now();
    volatile float sink = k.run(iters);
    double per = (now() - t0) / (double)iters;
    if (per > 0) iters = (long)(seconds / per) + 1;
    double best = 0;
    for (int r = 0; r < RUNS; r++) {
        t0 = now();
        sink = k.run(iters);
        double dt = now() - t0;
        double gflops = 2.0 * k.lanes * ACCUMULATORS * (double)iters / dt / 1e9;
        if (gflops > best) best = gflops;
    }
    (void)sink;
    if (json)
        printf("{\"gflops\": %.1f, \"kind\": \"%s\"}\n", best, k.name);
    else
        printf("FP32 peak, one thread: %.1f GFLOP/s (%s)\n", best, k.name);
    return 0;
}
