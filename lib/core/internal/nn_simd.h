/* nn_simd.h — compiling lib/core's elementwise loops for the running CPU's vector width.
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

#endif
