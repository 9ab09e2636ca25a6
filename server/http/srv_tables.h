/* srv_tables.h — parsed datasets kept for the requests that read them (validate, run creation,
 * features), so that a dataset's CSV is parsed once, not once per request.
 *
 * DESIGN: an entry is the table of one dataset read with one set of text columns (the spec's
 * text_columns and id change how columns are typed, so they are part of the key; the table is
 * read by nn_spec_read_csv, the one reader of CSVs for a spec). The tables
 * are read-only once loaded; any number of requests read one at once. srv_tables_acquire takes
 * a reference (the entry is not evicted or freed until srv_tables_release); entries are kept
 * within a byte budget (--table-cache), the least recently used unreferenced ones evicted
 * first; a table larger than the budget is parsed for its request and not kept. Loading is done
 * once per key: a request that finds the key being loaded waits for it instead of parsing the
 * same file again.
 * Deleting a dataset must not pull a table from under a request, and must make the dataset gone
 * for new requests: once the delete has committed, srv_tables_forget takes the dataset's
 * entries out of the index (their tables live until the last reference is released), including
 * those still loading, which then serve only the requests that were waiting for them. A request
 * that starts after the forget finds no entry, looks the dataset up and finds it gone. A load
 * opens the dataset's file by the path its row names; the delete removes the file in its
 * transaction, so a load that finds it missing reports NN_ERR_NOT_FOUND (an open file stays
 * readable after the delete, so a parse that started completes).
 * Locking: one mutex over the index; loading and parsing happen outside it.
 */
#ifndef SRV_TABLES_H
#define SRV_TABLES_H

#include "nn_spec.h"
#include "nn_table.h"
#include "srv_store.h"

typedef struct srv_tables srv_tables;
typedef struct srv_table_ref srv_table_ref;

/* A cache keeping at most budget bytes of tables (0: none kept, every request parses). */
nn_status srv_tables_create(int64_t budget, srv_tables **out, nn_error *err);
void srv_tables_destroy(srv_tables *c);

/* A reference to the table of dataset_id as read for spec (nn_spec_read_csv: its text_columns
 * and id read as text; spec NULL: types inferred), parsed from the dataset's file when not
 * cached; specs with the same text columns and id share a table. NN_ERR_NOT_FOUND when the
 * dataset does not exist (or was deleted meanwhile); the CSV reader's errors otherwise. */
nn_status srv_tables_acquire(srv_tables *c, srv_store *s, const char *dataset_id,
                             const nn_spec *spec, srv_table_ref **out, nn_error *err);
/* The table (read-only; valid until the reference is released). */
const nn_table *srv_table_ref_table(const srv_table_ref *ref);
void srv_tables_release(srv_tables *c, srv_table_ref *ref);

/* The dataset was deleted: its tables leave the index (see DESIGN). Call once the delete has
 * committed, before answering it. */
void srv_tables_forget(srv_tables *c, const char *dataset_id);

/* Bytes of tables kept, and lookups answered from memory / by parsing, since the start. */
void srv_tables_stats(srv_tables *c, int64_t *bytes, long long *hits, long long *misses);

/* The bytes a table occupies (values, strings and their pointers), as the budget counts them. */
int64_t srv_table_bytes(const nn_table *t);

#endif
