/* store/store_pg.h - the PostgreSQL backend of the record store.
 *
 * Only store_open.c (its table of backends, for "postgresql://..." and
 * "postgres://..." URLs) and the PostgreSQL-specific tests call this; the
 * service opens stores with hs_store_open and never names a backend.
 */
#ifndef HEALER_HS_STORE_PG_H
#define HEALER_HS_STORE_PG_H

#include "store/store.h"

/* Opens a store on the database at `url` ("postgresql://USER@HOST:PORT/DB
 * [?pool_size=N&...]", as libpq takes it; pg/pg.h) and brings its schema
 * to the newest version this code knows, in one transaction under an
 * advisory lock, so that instances starting together do not race. A
 * database with a newer schema version is refused (HS_ERR_INVALID) and
 * left unchanged. Errors: HS_ERR_INVALID (a bad URL), HS_ERR_UNAVAILABLE
 * (the server cannot be reached), HS_ERR_IO, HS_ERR_NOMEM. Messages never
 * quote the URL's password. */
hs_status hs_store_pg_open(const char *url, hs_store **out, hs_error *err);

/* The same for store_open.c's table, which hands a backend what follows
 * the scheme ("//USER@HOST..."): libpq is given "postgresql:" + rest. */
hs_status hs_store_pg_open_rest(const char *rest, hs_store **out,
                                hs_error *err);

/* The newest schema version hs_store_pg_open applies. */
int hs_store_pg_schema_version(void);

#endif
