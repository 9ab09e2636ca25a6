/* srv_migrations.h — the migrations compiled into nnd (generated from migrations/NNNN_name.sql
 * for SQLite and migrations/pg/NNNN_name.sql for PostgreSQL: the same numbers, one schema
 * version for both). */
#ifndef SRV_MIGRATIONS_H
#define SRV_MIGRATIONS_H

typedef struct srv_migration {
    int number;       /* from the file name, e.g. 1 for 0001_init.sql */
    const char *name; /* the file name */
    const char *sql;
} srv_migration;

extern const srv_migration srv_migrations[];
extern const int srv_migrations_count;
extern const srv_migration srv_pg_migrations[];
extern const int srv_pg_migrations_count;

#endif
