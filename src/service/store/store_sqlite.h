/* store/store_sqlite.h - the SQLite backend of the record store.
 *
 * Only store_open.c (its table of backends, for "sqlite:PATH" URLs) and
 * the SQLite-specific tests call this; the service opens stores with
 * hs_store_open and never names a backend.
 */
#ifndef HEALER_HS_STORE_SQLITE_H
#define HEALER_HS_STORE_SQLITE_H

#include "store/store.h"

/* Opens or creates the database file at `path` (WAL mode, foreign keys on,
 * 5 s busy timeout, synchronous=NORMAL) and applies any forward schema
 * migrations it lacks, each in its own transaction. A database written by
 * a newer healer (a schema version this code does not know) is refused
 * with HS_ERR_INVALID and left unchanged. On success *out is a store the
 * caller closes with hs_store_close. Errors: HS_ERR_IO (cannot open or
 * create, not a database, busy beyond the timeout), HS_ERR_INVALID,
 * HS_ERR_NOMEM. Several processes may open the same file (SQLite's locking
 * applies), and share its job queue safely through the job leases. */
hs_status hs_store_sqlite_open(const char *path, hs_store **out, hs_error *err);

/* The newest schema version hs_store_sqlite_open applies. */
#define HS_STORE_SQLITE_SCHEMA_VERSION 19

#endif
