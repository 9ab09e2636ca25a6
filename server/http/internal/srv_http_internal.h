/* srv_http_internal.h — what the files of the HTTP layer (srv_http.c, srv_http_check.c) share. */
#ifndef SRV_HTTP_INTERNAL_H
#define SRV_HTTP_INTERNAL_H

#include "srv_http.h"

/* Checks the request head's framing before routing (see srv_http_check.c DESIGN): NN_OK, or
 * NN_ERR_INVALID with *http the status to answer (400, or 501 for a transfer coding other than
 * chunked) and a detail in detail (size bytes). version is MHD's ("HTTP/1.1"). */
nn_status srv__check_head(struct MHD_Connection *conn, const char *version, char *detail,
                          size_t size, int *http);
/* The path part of a request target: url itself (origin-form), or what follows the authority
 * of an absolute-form target ("http://host/healthz" → "/healthz"). */
const char *srv__target_path(const char *url);
/* Whether the request carries the configured bearer token (always, when none is configured). */
int srv__authorized(const srv_req *req);
/* Starts noting NUL bytes in the next request head read from descriptor fd (see
 * srv_http_check.c DESIGN); srv__head_had_nul tells whether that head held one. */
void srv__head_begin(int fd);
int srv__head_had_nul(int fd);
/* The reason phrase of an HTTP status ("Not Found"). */
const char *srv__status_title(int status);

#endif
