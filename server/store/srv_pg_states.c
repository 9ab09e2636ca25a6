/* srv_pg_states.c — fold states (migrations/pg/0007_fold_states.sql) in PostgreSQL: the
 * furthest state of a key's fold, and dropping a study's. A state is written with its task's
 * end (srv_queue_end_task). */
#include "srv_pg.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

nn_status srv__pg_fold_state_find(srv_store *s, const char *key, int task, int max_epoch,
                                  unsigned char **state, size_t *len, int *epoch, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, key);
    srv__pgq_int(&q, task);
    srv__pgq_int(&q, max_epoch);
    PGresult *r = NULL;
    nn_status st = srv__pg_exec_bin(s,
                                    "SELECT state, epoch::int4 FROM fold_states WHERE key = $1 "
                                    "AND task = $2 AND epoch <= $3 "
                                    "ORDER BY epoch DESC, created_at LIMIT 1",
                                    &q, &r, "reading a fold state", err);
    if (st) return st;
    if (PQntuples(r) == 0 || PQgetlength(r, 0, 1) != 4) {
        PQclear(r);
        return nn_error_set(err, NN_ERR_NOT_FOUND, "no fold state");
    }
    size_t n = (size_t)PQgetlength(r, 0, 0);
    uint32_t e;
    memcpy(&e, PQgetvalue(r, 0, 1), sizeof e); /* binary results are in network order */
    *epoch = (int)ntohl(e);
    *state = malloc(n ? n : 1);
    if (*state && n) memcpy(*state, PQgetvalue(r, 0, 0), n);
    *len = n;
    PQclear(r);
    return *state ? NN_OK : nn_error_set(err, NN_ERR_NOMEM, "out of memory reading a fold state");
}

nn_status srv__pg_fold_states_drop(srv_store *s, const char *study_id, int trial, nn_error *err) {
    srv_pgq q;
    srv__pgq_init(&q);
    srv__pgq_text(&q, study_id);
    srv__pgq_int(&q, trial);
    return srv__pg_cmd(s,
                       "DELETE FROM fold_states WHERE run_id IN (SELECT run_id FROM study_runs "
                       "WHERE study_id = $1 AND ($2 < 0 OR trial = $2))",
                       &q, NULL, "dropping fold states", err);
}
