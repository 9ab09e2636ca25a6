/* srv_app.c — per-thread storage connections and the clock. */
#include "srv_app.h"

#include <time.h>

srv_store *srv_app_store(srv_app *app, nn_error *err) {
    srv_store *s = pthread_getspecific(app->store_key);
    if (s) return s;
    if (srv_store_open(app->cfg.data_dir, &s, err) != NN_OK) return NULL;
    if (pthread_setspecific(app->store_key, s) != 0) {
        srv_store_close(s);
        nn_error_set(err, NN_ERR_NOMEM, "cannot keep a storage connection for this thread");
        return NULL;
    }
    return s;
}

int64_t srv_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
