/* blob_pg.c - blobs in PostgreSQL two ways: the chunked rows the blob
 * store uses (blob/blob_pg.c) against large objects, for a 100 MB blob:
 * write MB/s (streamed in 64 KiB writes, as uploads arrive, then
 * committed) and read MB/s (sequential reads of 64 KiB, as a download or
 * the encrypting layer reads).
 *
 * Both go through pg/pg.h, as the service would: the rows through the
 * blob store itself; the large object through the server-side functions
 * (lo_from_bytea, lo_put, lo_get) in 1 MiB pieces, the same size as a
 * chunk row, inside one transaction for the writes (a large object is
 * written in a transaction) and statement by statement for the reads.
 *
 * Usage: build/bench/blob_pg URL [MB]   (bench/blob_pg.sh starts a cluster)
 * Prints one JSON object: MB/s of each way, median of REPEATS runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob/blob.h"
#include "healer/clock.h"
#include "pg/pg.h"

#define PIECE 65536
#define LO_PIECE ((size_t)1 << 20)
#define REPEATS 3

static void die(const char *what, const hs_error *err)
{
    fprintf(stderr, "blob_pg: %s: %s\n", what, err->message);
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v)
{
    qsort(v, REPEATS, sizeof *v, cmp_double);
    return v[REPEATS / 2];
}

/* The chunked rows: seconds to write, then to read, `total` bytes. */
static void rows_once(hs_blob_store *s, const uint8_t *piece, size_t total,
                      double *write_s, double *read_s)
{
    hs_error err = {0};
    hs_blob_writer *w = NULL;
    hs_blob_reader *r = NULL;
    char key[HS_BLOB_KEY_MAX];
    uint8_t *back = malloc(PIECE);
    double t0 = hl_clock_monotonic();
    if (!back || hs_blob_writer_open(s, "bench", 0, &w, &err) != HS_OK)
        die("rows: open a writer", &err);
    for (size_t at = 0; at < total; at += PIECE)
        if (hs_blob_write(w, piece, PIECE, &err) != HS_OK)
            die("rows: write", &err);
    if (hs_blob_commit(w, key, NULL, &err) != HS_OK)
        die("rows: commit", &err);
    double t1 = hl_clock_monotonic();
    if (hs_blob_open_read(s, key, &r, &err) != HS_OK)
        die("rows: open a reader", &err);
    for (uint64_t at = 0; at < r->size; at += PIECE)
        if (hs_blob_read_at(r, back, PIECE, at, &err) != HS_OK)
            die("rows: read", &err);
    hs_blob_reader_close(r);
    *write_s = t1 - t0;
    *read_s = hl_clock_monotonic() - t1;
    if (memcmp(back, piece, PIECE) != 0)
        die("rows: read back other bytes", &err);
    if (hs_blob_delete(s, key, &err) != HS_OK)
        die("rows: delete", &err);
    free(back);
}

typedef struct lo_write {
    hs_pg *pg;
    const uint8_t *data; /* LO_PIECE bytes, written again and again */
    size_t total;
    int64_t oid;
} lo_write;

static hs_status lo_write_txn(void *arg, hs_error *err)
{
    lo_write *lw = arg;
    hs_pg_result *res = NULL;
    hs_status st =
        hs_pg_query(lw->pg, &res, NULL, err, "lo_from_bytea",
                    "SELECT lo_from_bytea(0, $1)", "x", lw->data, LO_PIECE);
    if (st != HS_OK)
        return st;
    lw->oid = hs_pg_int(res, 0, 0);
    hs_pg_result_free(res);
    for (size_t at = LO_PIECE; st == HS_OK && at < lw->total; at += LO_PIECE)
        st = hs_pg_query(lw->pg, NULL, NULL, err, "lo_put",
                         "SELECT lo_put($1, $2, $3)", "iix", lw->oid,
                         (int64_t)at, lw->data, LO_PIECE);
    return st;
}

/* A large object: seconds to write (64 KiB pieces gathered into 1 MiB
 * puts, as a writer would buffer) and to read it back. */
static void lo_once(hs_pg *pg, const uint8_t *chunk, size_t total,
                    double *write_s, double *read_s)
{
    hs_error err = {0};
    lo_write lw = {pg, chunk, total, 0};
    double t0 = hl_clock_monotonic();
    if (hs_pg_transact(pg, lo_write_txn, &lw, &err) != HS_OK)
        die("large object: write", &err);
    double t1 = hl_clock_monotonic();
    for (size_t at = 0; at < total; at += LO_PIECE) {
        hs_pg_result *res = NULL;
        void *data = NULL;
        size_t len = 0;
        if (hs_pg_query(pg, &res, NULL, &err, "lo_get",
                        "SELECT lo_get($1, $2, $3)", "iii", lw.oid, (int64_t)at,
                        (int64_t)LO_PIECE) != HS_OK ||
            hs_pg_bytes(res, 0, 0, &data, &len, &err) != HS_OK)
            die("large object: read", &err);
        /* a reader serves 64 KiB pieces out of what it fetched */
        if (len != LO_PIECE || memcmp(data, chunk, PIECE) != 0)
            die("large object: read back other bytes", &err);
        free(data);
        hs_pg_result_free(res);
    }
    *write_s = t1 - t0;
    *read_s = hl_clock_monotonic() - t1;
    if (hs_pg_query(pg, NULL, NULL, &err, "lo_unlink", "SELECT lo_unlink($1)",
                    "i", lw.oid) != HS_OK)
        die("large object: unlink", &err);
}

int main(int argc, char **argv)
{
    hs_error err = {0};
    hs_blob_store *s = NULL;
    hs_pg *pg = NULL;
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s URL [MB]\n", argv[0]);
        return 2;
    }
    size_t mb = argc == 3 ? (size_t)atoi(argv[2]) : 100;
    size_t total = mb << 20;
    uint8_t *chunk = malloc(LO_PIECE);
    if (!chunk || mb == 0)
        return 2;
    /* incompressible, as encrypted blobs are */
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < LO_PIECE; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        chunk[i] = (uint8_t)x;
    }
    if (hs_blob_pg_open(argv[1], &s, &err) != HS_OK)
        die("open the blob store", &err);
    if (hs_pg_open(argv[1], "bench", &pg, &err) != HS_OK)
        die("open a pool", &err);
    double rw[REPEATS], rr[REPEATS], lw[REPEATS], lr[REPEATS];
    for (int i = 0; i < REPEATS; i++) {
        rows_once(s, chunk, total, &rw[i], &rr[i]);
        lo_once(pg, chunk, total, &lw[i], &lr[i]);
    }
    double m = (double)total / 1e6;
    printf("{\"mb\": %zu, \"rows_write_mbs\": %.1f, \"rows_read_mbs\": %.1f, "
           "\"lo_write_mbs\": %.1f, \"lo_read_mbs\": %.1f}\n",
           mb, m / median(rw), m / median(rr), m / median(lw), m / median(lr));
    hs_pg_close(pg);
    hs_blob_store_close(s);
    free(chunk);
    return 0;
}
