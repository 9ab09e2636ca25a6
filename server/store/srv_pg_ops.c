/* srv_pg_ops.c — the PostgreSQL backend's entry (placeholder while it is written). */
#include "srv_store_internal.h"

nn_status srv__pg_migrate(const char *url, const char *data_dir, nn_error *err) {
    (void)url, (void)data_dir;
    return nn_error_set(err, NN_ERR_INVALID, "PostgreSQL is not supported yet");
}

nn_status srv__pg_open(const char *url, const char *data_dir, srv_store **out, nn_error *err) {
    (void)url, (void)data_dir, (void)out;
    return nn_error_set(err, NN_ERR_INVALID, "PostgreSQL is not supported yet");
}
