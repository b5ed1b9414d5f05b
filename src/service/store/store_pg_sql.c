/* store/store_pg_sql.c - the statement helpers of the PostgreSQL backend
 * (store_pg_internal.h): run, insert, get one, list, and an atomic group
 * of statements, on pg/pg.h.
 *
 * A file of their own so that every file of the backend (the assembly in
 * store_pg.c and each resource's file) depends on them and nothing
 * depends back: the resources' files and store_pg.c never call each
 * other's functions, only these.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_internal.h"

const char *pgs_no_such(pgs_msg buf, const char *kind, hs_id id)
{
    snprintf(buf, sizeof(pgs_msg), "%s %lld does not exist", kind,
             (long long)id);
    return buf;
}

static hs_status pgs_vrun(pg_store *s, int64_t *changed, hs_error *err,
                          const char *what, const char *sql, const char *types,
                          va_list ap)
{
    hs_pg_result *r = NULL;
    hs_status st = hs_pg_vquery(s->pg, &r, NULL, err, what, sql, types, ap);
    if (changed)
        *changed = st == HS_OK ? hs_pg_affected(r) : 0;
    hs_pg_result_free(r);
    return st;
}

hs_status pgs_run(pg_store *s, int64_t *changed, hs_error *err,
                  const char *what, const char *sql, const char *types, ...)
{
    va_list ap;
    hs_status st;
    va_start(ap, types);
    st = pgs_vrun(s, changed, err, what, sql, types, ap);
    va_end(ap);
    return st;
}

hs_status pgs_run_one(pg_store *s, const char *kind, hs_id id, hs_error *err,
                      const char *what, const char *sql, const char *types, ...)
{
    va_list ap;
    int64_t changed = 0;
    hs_status st;
    va_start(ap, types);
    st = pgs_vrun(s, &changed, err, what, sql, types, ap);
    va_end(ap);
    if (st == HS_OK && changed == 0)
        st = hs_fail(err, HS_ERR_NOTFOUND, "%s %lld does not exist", kind,
                     (long long)id);
    return st;
}

hs_status pgs_insert(pg_store *s, hs_id *id_out, const char *conflict,
                     const char *missing, hs_error *err, const char *what,
                     const char *sql, const char *types, ...)
{
    hs_pg_result *r = NULL;
    char state[6];
    va_list ap;
    hs_status st;
    va_start(ap, types);
    st = hs_pg_vquery(s->pg, &r, state, err, what, sql, types, ap);
    va_end(ap);
    if (st == HS_ERR_CONFLICT && conflict)
        st = hs_fail(err, HS_ERR_CONFLICT, "%s", conflict);
    else if (st == HS_ERR_NOTFOUND && missing)
        st = hs_fail(err, HS_ERR_NOTFOUND, "%s", missing);
    else if (st == HS_OK && id_out) {
        if (hs_pg_rows(r) != 1)
            st = hs_fail(err, HS_ERR_INTERNAL, "%s: no id returned", what);
        else
            *id_out = hs_pg_int(r, 0, 0);
    }
    hs_pg_result_free(r);
    return st;
}

hs_status pgs_get_one(pg_store *s, pgs_reader read, void *out,
                      const char *missing, hs_error *err, const char *sql,
                      const char *types, ...)
{
    hs_pg_result *r = NULL;
    va_list ap;
    hs_status st;
    va_start(ap, types);
    st = hs_pg_vquery(s->pg, &r, NULL, err, "reading a record", sql, types, ap);
    va_end(ap);
    if (st == HS_OK) {
        int rows = hs_pg_rows(r);
        if (rows == 0)
            st = hs_fail(err, HS_ERR_NOTFOUND, "%s", missing);
        else if (rows > 1)
            st = hs_fail(err, HS_ERR_INTERNAL,
                         "store: a single-row query returned %d", rows);
        else
            st = read(r, 0, out, err);
    }
    hs_pg_result_free(r);
    return st;
}

hs_status pgs_list(pg_store *s, pgs_reader read, pgs_release release,
                   size_t elem_size, void **items, size_t *n, hs_error *err,
                   const char *sql, const char *types, ...)
{
    hs_pg_result *r = NULL;
    unsigned char *arr = NULL;
    va_list ap;
    hs_status st;
    int rows, i = 0;
    *items = NULL;
    *n = 0;
    va_start(ap, types);
    st = hs_pg_vquery(s->pg, &r, NULL, err, "listing records", sql, types, ap);
    va_end(ap);
    if (st != HS_OK)
        goto done;
    rows = hs_pg_rows(r);
    if (rows > 0) {
        arr = calloc((size_t)rows, elem_size);
        if (!arr) {
            st = hs_fail(err, HS_ERR_NOMEM, "store: out of memory");
            goto done;
        }
    }
    for (; i < rows; i++) {
        st = read(r, i, arr + (size_t)i * elem_size, err);
        if (st != HS_OK)
            break;
    }
    if (st != HS_OK) {
        if (release)
            while (i > 0)
                release(arr + (size_t)--i * elem_size);
        free(arr);
        arr = NULL;
        goto done;
    }
    *items = arr;
    *n = (size_t)rows;
done:
    hs_pg_result_free(r);
    return st;
}

hs_status pgs_atomic(pg_store *s, hs_pg_txn_fn fn, void *arg, hs_error *err)
{
    hs_status st;
    if (!hs_pg_in_transaction(s->pg))
        return hs_pg_transact(s->pg, fn, arg, err);
    st = hs_pg_exec_script(s->pg, err, "starting a savepoint",
                           "SAVEPOINT pgs_op");
    if (st != HS_OK)
        return st;
    st = fn(arg, err);
    if (st == HS_OK)
        return hs_pg_exec_script(s->pg, err, "ending a savepoint",
                                 "RELEASE SAVEPOINT pgs_op");
    hs_error ignored = {0};
    hs_pg_exec_script(s->pg, &ignored, "rolling back a savepoint",
                      "ROLLBACK TO SAVEPOINT pgs_op;"
                      " RELEASE SAVEPOINT pgs_op");
    return st;
}

hs_status pgs_read_cols(const hs_pg_result *r, int row, void *dst,
                        size_t dst_size, const pgs_col *cols, size_t n,
                        hs_error *err)
{
    unsigned char *base = dst;
    memset(dst, 0, dst_size);
    for (size_t i = 0; i < n; i++) {
        void *field = base + cols[i].offset;
        int col = (int)i;
        switch (cols[i].kind) {
        case PGS_I64:
            *(int64_t *)field = hs_pg_int(r, row, col);
            break;
        case PGS_FLAG:
            *(int *)field = hs_pg_int(r, row, col) != 0;
            break;
        case PGS_F64:
            *(double *)field = hs_pg_double(r, row, col);
            break;
        case PGS_TEXT: {
            hs_status st =
                hs_pg_copy(r, row, col, field, cols[i].size, cols[i].what, err);
            if (st != HS_OK)
                return st;
            break;
        }
        }
    }
    return HS_OK;
}

hs_status pgs_read_int(const hs_pg_result *r, int row, void *dst, hs_error *err)
{
    (void)err;
    *(int64_t *)dst = hs_pg_int(r, row, 0);
    return HS_OK;
}

hs_status pgs_read_blob_key(const hs_pg_result *r, int row, void *dst,
                            hs_error *err)
{
    return hs_pg_copy(r, row, 0, dst, HS_STORE_BLOB_KEY_MAX, "blob key", err);
}

hs_status pgs_dup(const hs_pg_result *r, int row, int col, char **out,
                  const char *what, hs_error *err)
{
    hs_status st = HS_OK;
    *out = hs_pg_strdup(r, row, col, &st);
    return st == HS_OK
               ? HS_OK
               : hs_fail(err, st, "store: out of memory reading %s", what);
}

hs_status pgs_read_text(const hs_pg_result *r, int row, void *dst,
                        hs_error *err)
{
    return pgs_dup(r, row, 0, dst, "a text value", err);
}

void pgs_release_text(void *row)
{
    free(*(char **)row);
    *(char **)row = NULL;
}
