/* datadir.h - the data directory: where one healer installation keeps its
 * state (healer.db, the SQLite store unless the `store` setting names
 * another; blobs/, the blob store; server.key, the secret CSRF tokens are
 * made with; logs/access.log, the request log unless `access-log` says
 * otherwise).
 *
 * Every command that touches the store (`healer serve`, `healer user ...`)
 * opens it through here, so the layout is decided once. Opening creates
 * what is missing (directories with mode 0700) and applies the store's
 * migrations.
 */
#ifndef HEALER_HS_DATADIR_H
#define HEALER_HS_DATADIR_H

#include "blob/blob.h"
#include "base/error.h"
#include "store/store.h"

/* The default, relative to the working directory: `make run` uses it. */
#define HS_DATADIR_DEFAULT "var"

typedef struct hs_datadir {
    char *path;
    hs_store *store;
    hs_blob_store *blobs; /* encrypting (blob_crypt.c) under keys */
    hs_keyring keys;      /* the data key(s) everything is encrypted under */
} hs_datadir;

/* Opens (creating as needed) the data directory at `path`, with its own
 * SQLite store (sqlite:PATH/healer.db) and its own data key
 * (PATH/data.key, created at first use). Caller closes with
 * hs_datadir_close. */
hs_status hs_datadir_open(const char *path, hs_datadir **out, hs_error *err);

/* The same with the store at `store_url` (store/store.h's hs_store_open:
 * "sqlite:FILE", ...; NULL or "" = the directory's own) and the data key
 * in `key_file` (the `data-key-file` setting: NULL or "" = PATH/data.key,
 * created when missing; a file named here must exist). A key file that
 * is readable by others or not a key is refused (base/datakey.h), and so
 * is a data directory whose key rotation was interrupted
 * (HS_DATADIR_REKEY_MARK: run `healer rekey` again). */
hs_status hs_datadir_open_store(const char *path, const char *store_url,
                                const char *key_file, hs_datadir **out,
                                hs_error *err);

/* The same with the keys given (`healer rekey`: the new key current, the
 * old one previous); no check of the rekey mark. keys NULL: the records
 * only (blobs NULL, no data key needed or made), for `healer user`, which
 * never reads stored files. */
hs_status hs_datadir_open_keys(const char *path, const char *store_url,
                               const hs_keyring *keys, hs_datadir **out,
                               hs_error *err);

/* The records only: hs_datadir_open_keys(path, NULL, NULL, ...). */
hs_status hs_datadir_open_records(const char *path, hs_datadir **out,
                                  hs_error *err);

/* The data key a directory uses: `key_file` when set (must exist), else
 * PATH/data.key (created when missing and `create` and the directory is
 * not encrypted yet - no PATH/data.keyid -; else it must exist: an
 * encrypted directory without its own key keeps it elsewhere, and a
 * command that was not given it fails naming --data-key-file,
 * HS_ERR_CRYPTO, instead of making a key that reads nothing). */
hs_status hs_datadir_data_key(const char *path, const char *key_file,
                              int create, hs_datakey *out, hs_error *err);

/* The id of the data key the directory is encrypted under, in
 * PATH/data.keyid (16 hex digits; written at first start and by `healer
 * rekey`): a server given another key refuses to start, naming the key
 * file, instead of failing on every read. */
#define HS_DATADIR_KEY_ID_FILE "data.keyid"
/* Whether the directory at `path` is encrypted: PATH/data.keyid exists
 * (`healer rekey` writes it only once everything is encrypted, so a
 * directory without it is one from before encryption, or empty). */
int hs_datadir_encrypted(const char *path);
hs_status hs_datadir_key_id_check(const char *path, const hs_datakey *key,
                                  hs_error *err);
hs_status hs_datadir_key_id_put(const char *path, const hs_datakey *key,
                                hs_error *err);

/* A file in the data directory while `healer rekey` runs, removed when it
 * is done: a server refuses to start beside a half-done rotation. */
#define HS_DATADIR_REKEY_MARK "rekey.pending"

/* Takes the data directory's lock (an exclusive flock on PATH/.lock,
 * created mode 0600) for as long as *fd_out stays open: HS_ERR_BUSY when
 * another process holds it. `healer serve` holds it while it runs, and
 * `healer rekey` refuses to run beside it. */
hs_status hs_datadir_lock(const char *path, int *fd_out, hs_error *err);
void hs_datadir_close(hs_datadir *d);

/* The access log's file as the `access-log` setting names it: "" =
 * DIR/logs/access.log (logs/ created with mode 0700), "-" = stderr (*fd =
 * -1, path "stderr"), anything else a file path. The file is opened for
 * appending (created with mode 0600), so that logrotate's copytruncate
 * works; its path goes to path (cap bytes). Caller closes *fd. */
hs_status hs_datadir_access_log(const hs_datadir *d, const char *setting,
                                char *path, size_t cap, int *fd,
                                hs_error *err);

/* The server's secret key (CSRF tokens are MACs under it), kept in
 * DIR/server.key (mode 0600) so sessions survive restarts; created with
 * fresh random bytes the first time. A file of the wrong size is an error,
 * never silently replaced. */
hs_status hs_datadir_server_key(hs_datadir *d, uint8_t *key, size_t len,
                                hs_error *err);

#endif
