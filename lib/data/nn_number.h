/* nn_number.h — decimal numbers from text, exactly as strtod reads them, faster.
 *
 * nn_number_parse accepts exactly the decimal strings that strtod (in the "C" locale) consumes
 * whole — [+-] digits [. digits] [(e|E) [+-] digits], with digits on at least one side of the
 * point — and gives the same double, bit for bit: correctly rounded, -0 for "-0", ±HUGE_VAL
 * (infinity) on overflow, subnormals and zeros on underflow. It accepts no spaces, hex, "inf" or
 * "nan" (strtod does; the CSV reader decides about those itself). Most numbers in data files
 * have at most 15 significant digits and a small exponent; those are converted with one exact
 * multiplication or division (Clinger's fast path), the others by strtod.
 */
#ifndef NN_NUMBER_H
#define NN_NUMBER_H

#include <stddef.h>

/* Parses s[0..n) (borrowed; need not be NUL-terminated). Returns 1 and sets *out when the whole
 * of it is a decimal number, else returns 0 and leaves *out alone. */
int nn_number_parse(const char *s, size_t n, double *out);

#endif
