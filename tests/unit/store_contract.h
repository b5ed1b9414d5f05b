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

/* Runs every contract test, each on its own fresh store, and returns the
 * number that failed (0 = the backend keeps the contract); cmocka prints
 * the results. Not reentrant: one run at a time. The environment can
 * narrow the run, for a backend still being written or to rerun a few:
 * HEALER_CONTRACT_FILTER runs only the tests matching one of its
 * comma-separated globs ("test_user*,test_sessions"), HEALER_CONTRACT_SKIP
 * leaves out those matching its globs. */
int hs_store_contract_run(hs_store_fresh_fn open_fresh);

#endif
