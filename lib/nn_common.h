/* nn_common.h — the scalar type, status codes and the error record every libnn call takes.
 *
 * DESIGN: errors travel with the call. Every fallible function returns an nn_status and fills a
 * caller-owned nn_error (which may be NULL when the caller does not want the message). Status
 * codes and their names come from one X-macro table so they never drift. libnn keeps no global
 * mutable state: no last-error, no global RNG, no printf, no exit.
 */
#ifndef NN_COMMON_H
#define NN_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef NN_DOUBLE
typedef double nn_float;
#define NN_FLOAT_NAME "double"
#else
typedef float nn_float;
#define NN_FLOAT_NAME "float"
#endif

#define NN_STATUS_TABLE(X)                                                                         \
    X(NN_OK, "ok")                                                                                 \
    X(NN_ERR_NOMEM, "out of memory")                                                               \
    X(NN_ERR_INVALID, "invalid argument")                                                          \
    X(NN_ERR_IO, "input/output error")                                                             \
    X(NN_ERR_PARSE, "parse error")                                                                 \
    X(NN_ERR_SPEC, "invalid spec")                                                                 \
    X(NN_ERR_DATA, "invalid data")                                                                 \
    X(NN_ERR_DOMAIN, "value out of domain")                                                        \
    X(NN_ERR_LIMIT, "limit exceeded")                                                              \
    X(NN_ERR_CANCELLED, "cancelled")                                                               \
    X(NN_ERR_DIVERGED, "training diverged")

#define NN__STATUS_ENUM(name, text) name,
typedef enum nn_status { NN_STATUS_TABLE(NN__STATUS_ENUM) NN_STATUS_COUNT } nn_status;
#undef NN__STATUS_ENUM

/* A caller-owned error record. msg holds a message with its context, e.g.
 * "kc.csv:17: column \"price\": \"abc\" is not a number". */
typedef struct nn_error {
    nn_status code;
    char msg[256];
} nn_error;

/* The status's fixed name ("out of memory"); never NULL. */
const char *nn_status_str(nn_status code);

/* Sets err (if not NULL) to code and a printf-style message; returns code so that callers can
 * write `return nn_error_set(err, NN_ERR_INVALID, "...")`. */
nn_status nn_error_set(nn_error *err, nn_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends printf-style context to err's message ("kc.csv:17: " + msg); returns err's code. */
nn_status nn_error_prefix(nn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Resets err (if not NULL) to NN_OK with an empty message. */
void nn_error_clear(nn_error *err);

#endif
