/* nn_common.h — the scalar type, status codes and the error record every libnn call takes.
 *
 * DESIGN: errors travel with the call. Every fallible function returns an nn_status and fills a
 * caller-owned nn_error (which may be NULL when the caller does not want the message). Status
 * codes and their names come from one X-macro table so they never drift. libnn keeps no global
 * mutable state: no last-error, no global RNG, no printf, no exit.
 *
 * The code carries the meaning and the message is for people: a caller decides by the code
 * (nnd maps each code to one HTTP status, server/http/srv_http.c), never by the message's text. The
 * last seven codes are mostly the service's: a thing that does not exist (NOT_FOUND), a request
 * that contradicts the current state (CONFLICT: a dataset in use, a run already finished), a
 * resource held by someone else for now (BUSY: a database lock), no space left to write (FULL),
 * a per-client or queue cap reached (TOO_MANY), and a part that cannot serve at all right now
 * (UNAVAILABLE: shutting down, no storage connection), and a feature this configuration does not
 * offer (UNSUPPORTED: studies on a PostgreSQL store).
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
    X(NN_ERR_DIVERGED, "training diverged")                                                        \
    X(NN_ERR_NOT_FOUND, "not found")                                                               \
    X(NN_ERR_CONFLICT, "conflict with the current state")                                          \
    X(NN_ERR_BUSY, "busy")                                                                         \
    X(NN_ERR_FULL, "storage full")                                                                 \
    X(NN_ERR_TOO_MANY, "too many at once")                                                         \
    X(NN_ERR_UNAVAILABLE, "unavailable")                                                           \
    X(NN_ERR_UNSUPPORTED, "not supported")

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

/* nn_error_set(err, NN_ERR_NOMEM, "%s", what) where callers — and static analysis, which does not
 * see into nn_error.c — can tell that it returns NN_ERR_NOMEM, never NN_OK. */
static inline nn_status nn_nomem(nn_error *err, const char *what) {
    (void)nn_error_set(err, NN_ERR_NOMEM, "%s", what);
    return NN_ERR_NOMEM;
}

/* Prepends printf-style context to err's message ("kc.csv:17: " + msg); returns err's code. */
nn_status nn_error_prefix(nn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Resets err (if not NULL) to NN_OK with an empty message. */
void nn_error_clear(nn_error *err);

/* Enumerations and their names come from one X-macro table of X(ENUM, "name") rows (as
 * NN_STATUS_TABLE above). In the module's .c file, NN_ENUM_DEFINE(nn_act, nn_act, NN_ACT_TABLE,
 * NN_ACT_COUNT) defines the three functions its header declares (the enum itself is
 * `typedef enum nn_act { NN_ACT_TABLE(NN_ENUM_ITEM) NN_ACT_COUNT } nn_act;`):
 *   const char *nn_act_name(nn_act v);                  "relu", or "?" out of range
 *   int nn_act_from_name(const char *name, nn_act *out); 0, or -1 for an unknown name
 *   const char *nn_act_names(void);                     "linear, relu, sigmoid, …"
 * so a name is typed once, in the table. */
#define NN_ENUM_ITEM(name, text) name,
#define NN_ENUM_TEXT(name, text) text,
#define NN__ENUM_LIST(name, text) ", " text
/* NOLINTBEGIN(bugprone-macro-parentheses): `type` is a type name, it cannot be parenthesized */
#define NN_ENUM_DEFINE(prefix, type, TABLE, count)                                                 \
    static const char *const prefix##__texts[] = {TABLE(NN_ENUM_TEXT)};                            \
    const char *prefix##_name(type v) {                                                            \
        return ((int)v >= 0 && (int)v < (int)(count)) ? prefix##__texts[v] : "?";                  \
    }                                                                                              \
    int prefix##_from_name(const char *name, type *out) {                                          \
        int i_ = nn_enum_find(prefix##__texts, (int)(count), name);                                \
        if (i_ >= 0) *out = (type)i_;                                                              \
        return i_ >= 0 ? 0 : -1;                                                                   \
    }                                                                                              \
    const char *prefix##_names(void) { return &(TABLE(NN__ENUM_LIST))[2]; }
/* NOLINTEND(bugprone-macro-parentheses) */

/* The index of name in texts[0..n), or -1. */
int nn_enum_find(const char *const *texts, int n, const char *name);

#endif
