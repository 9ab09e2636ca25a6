/* nn_text.h — string distance for "did you mean" suggestions (spec keys, column names) and JSON
 * pointer keys (RFC 6901) for the errors that name where. */
#ifndef NN_TEXT_H
#define NN_TEXT_H

#include <stddef.h>

#define NN_TEXT_MAX_COMPARE 128 /* strings longer than this are never close */

/* Levenshtein distance between a and b, capped: any value > cap means "farther than cap"
 * (also for strings longer than NN_TEXT_MAX_COMPARE). */
int nn_edit_distance(const char *a, const char *b, int cap);

/* The index of the candidate closest to name within edit distance 2 (the first on ties), or -1.
 * name_at(items, i) is the i-th of n candidates (an array of strings, or a field of an array of
 * structs). */
/* A JSON pointer (RFC 6901): base + "/" + key with ~ and / escaped, written into out[0..cap)
 * and truncated there (cap ≥ 1). */
void nn_json_ptr_key(char *out, size_t cap, const char *base, const char *key);

typedef const char *(*nn_name_at_fn)(const void *items, size_t i);
long nn_closest(const char *name, const void *items, size_t n, nn_name_at_fn name_at);

#endif
