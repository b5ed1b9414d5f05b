/* store_contract.h - the record store's contract as a test suite.
 *
 * store.h's rules, as cmocka tests that any backend must pass (the way
 * SQLite runs one test suite over every VFS). A backend's test driver
 * (tests/unit/test_store_<backend>.c) calls hs_store_contract_run with a
 * function that opens a fresh, empty store of that backend - the suite's
 * only input - and adds the tests only that backend has (files, schema,
 * migrations).
 *
 * Linked into every unit test binary (the Makefile's TEST_LIB), so it
 * exports nothing else.
 */
#ifndef HEALER_STORE_CONTRACT_H
#define HEALER_STORE_CONTRACT_H

#include "store/store.h"

/* Opens a new, empty store: on HS_OK *out is a store with no records,
 * which the suite closes with hs_store_close. Called once per test. */
typedef hs_status (*hs_store_fresh_fn)(hs_store **out, hs_error *err);

/* What a driver may tell the suite of its backend beyond open_fresh;
 * zeros (the default) say "no". Set before hs_store_contract_run. */
typedef struct hs_store_contract_extras {
    /* Opens another handle on the store that open_fresh opened last - what
     * another process sharing it sees; NULL: the tests that want one use
     * the same handle from other threads. */
    hs_store_fresh_fn reopen;
    /* 1: the backend has notifications - wait_queued waits, and wakes when
     * a job is queued through any handle; 0: it returns at once with
     * notified 0 (store.h's promise for a backend without them). */
    int notifies;
} hs_store_contract_extras;

/* Copies *extras (NULL: back to zeros) for the next runs. */
void hs_store_contract_set_extras(const hs_store_contract_extras *extras);

/* Runs every contract test, each on its own fresh store, and returns the
 * number that failed (0 = the backend keeps the contract); cmocka prints
 * the results. Not reentrant: one run at a time. The environment can
 * narrow the run to rerun a few: HEALER_CONTRACT_FILTER runs only the
 * tests matching one of its comma-separated globs
 * ("test_user*,test_sessions"). */
int hs_store_contract_run(hs_store_fresh_fn open_fresh);

#endif
