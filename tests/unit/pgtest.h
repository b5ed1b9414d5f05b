/* pgtest.h - a PostgreSQL server for the unit tests that need one.
 *
 * With HEALER_TEST_PG_URL set (postgresql://USER@HOST:PORT/DB of a
 * server the tests may create schemas in), that server is used. Otherwise
 * the first call starts a private cluster with tests/pg/cluster.sh in a
 * temporary directory (as `nobody`, on a free port of 127.0.0.1), and a
 * watchdog process stops it and removes the directory when the test
 * process ends - however it ends, a crash included.
 *
 * Each test gets a fresh, empty schema (CREATE SCHEMA, then a URL whose
 * options set search_path to it): cheaper than a database per test, and
 * as empty. Schemas made on an external server are dropped at exit.
 *
 * Linked into every unit test binary (the Makefile's TEST_LIB); nothing
 * happens unless a test calls it. Not thread-safe: call from the test's
 * main thread.
 */
#ifndef HEALER_PGTEST_H
#define HEALER_PGTEST_H

#include <stddef.h>

/* The base URL of the server, starting it on first use; NULL (with the
 * reason on stderr) when no server can be had - a test must then FAIL,
 * not skip: PostgreSQL is a dependency of the build (mk/deps.sh). */
const char *pgtest_url(void);

/* Writes into url[size] the URL of a new empty schema on the server, with
 * `params` ("pool_size=2", or NULL) added to its query; 0 on success, -1
 * (reason on stderr) on failure. */
int pgtest_fresh_url(char *url, size_t size, const char *params);

/* Stops / starts again the private cluster (same port, same data), for
 * the tests of a database going away; -1 when the server is external
 * (HEALER_TEST_PG_URL) or the command fails. */
int pgtest_stop(void);
int pgtest_start(void);

/* 1 when the server is this process's private cluster (it can be stopped
 * and started). */
int pgtest_private(void);

#endif
