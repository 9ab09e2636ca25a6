/* nn_simd.h — lib/core's arithmetic on the running CPU: its vector width, and subnormals.
 *
 * DESIGN: a Debian build targets baseline x86-64 (SSE2: 4 floats a vector), while the machines
 * nnd trains on have AVX2 (8) or AVX-512 (16, a whole row of a 16-unit layer). NN__VECTORIZE
 * marks a function whose loops are worth it: GCC compiles it three times (AVX-512, AVX2,
 * baseline) and the dynamic loader picks one by the CPU (function multiversioning through an
 * ifunc). Every version computes the same bits: ISO C mode (-std=c11) keeps floating-point
 * contraction off, so no version fuses a multiply and an add, and the vectorizer never reorders
 * a floating-point sum (each vector lane is one column's own sum, in row order). lib/core is
 * compiled with -fvect-cost-model=dynamic (GCC) -fno-trapping-math -fno-math-errno
 * (lib/CMakeLists.txt), which let -O2 vectorize loops of run-time length, selects and square
 * roots; none of them changes a result.
 *
 * Sanitizer builds (NN_SANITIZE), clang (the fuzzing builds: clang 14 leaves out the ifunc of a
 * clone its own file does not call) and non-x86-64 targets get one ordinary function.
 */
#ifndef NN_SIMD_H
#define NN_SIMD_H

#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) &&       \
    !defined(NN_NO_CLONES)
#define NN__VECTORIZE __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN__VECTORIZE
#endif

/* Subnormal numbers. Intel and AMD vector units take a microcode assist, a hundred cycles or
 * more, for each operation that reads or writes a subnormal float, and training makes them: late
 * in a run, Adam with L2 drives the weights of dead units below 1.2e-38 (on the King County best
 * spec, 514 of 6,309 parameters after 30 epochs; those epochs then ran 5× slower). Like the
 * deep-learning frameworks, libnn's training arithmetic flushes them to zero: nn__fp_enter sets
 * the calling thread's FTZ and DAZ bits and nn__fp_leave restores what the caller had, around
 * each forward pass, backward pass and optimizer step (the same on every thread, so results stay
 * the same whatever the thread count). Elsewhere a no-op. */
#if defined(__x86_64__) || defined(__SSE2__)
#include <xmmintrin.h>
#define NN__MXCSR_FTZ_DAZ 0x8040u
static inline unsigned nn__fp_enter(void) {
    unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | NN__MXCSR_FTZ_DAZ);
    return saved;
}
static inline void nn__fp_leave(unsigned saved) { _mm_setcsr(saved); }
#else
static inline unsigned nn__fp_enter(void) { return 0; }
static inline void nn__fp_leave(unsigned saved) { (void)saved; }
#endif

#endif
