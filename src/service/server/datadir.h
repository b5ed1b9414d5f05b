/* datadir.h - the data directory: where one healer installation keeps its
 * state (healer.db, the SQLite store unless the `store` setting names
 * another; blobs/, the blob store; server.key, where earlier versions
 * kept the CSRF key the store now shares; logs/access.log, the request log
 * unless `access-log` says otherwise).
 *
 * Every command that touches the store (`healer serve`, `healer user ...`)
 * opens it through here, so the layout is decided once. Opening creates
 * what is missing (directories with mode 0700) and applies the store's
 * migrations.
 *
 * DIR/.lock is the directory's owner lock (hs_datadir_lock): `healer
 * serve` and offline maintenance commands take it before they touch
 * anything, so a second server on the same directory never recovers the
 * first one's jobs. Commands that only add records (`healer user add`) do
 * not take it: SQLite serialises their writes with the running server's.
 */
#ifndef HEALER_HS_DATADIR_H
#define HEALER_HS_DATADIR_H

#include <stdatomic.h>

#include "blob/blob.h"
#include "base/error.h"
#include "store/store.h"

/* The default, relative to the working directory: `make run` uses it. */
#define HS_DATADIR_DEFAULT "var"

/* The owner lock of a data directory, held from hs_datadir_lock until
 * hs_datadir_unlock (or the process's end: the kernel drops it then, so a
 * crashed server never leaves a stale lock behind). */
typedef struct hs_dirlock hs_dirlock;

/* Takes the exclusive owner lock of the data directory `path`: an flock
 * on PATH/.lock (created with mode 0600; the directory itself, mode 0700,
 * when it does not exist yet - nothing else is created or read), which
 * then holds this process's id. Call it before the directory is opened and
 * keep it for as long as the process works on the directory. `what` names
 * the holder in the file for people reading it ("healer serve", "healer
 * rekey"): a rekey refuses to run beside a server, and the reverse.
 *
 * Never waits. When another process holds it: HS_ERR_CONFLICT with the
 * message "data directory PATH is in use by process PID" (PID as that
 * process wrote it; "by another process" while it has not yet). Errors:
 * HS_ERR_INVALID (empty path), HS_ERR_IO (cannot create or lock the file,
 * with the reason), HS_ERR_NOMEM. The lock belongs to the returned
 * descriptor, not to a thread: it is not inherited across exec
 * (O_CLOEXEC). Locking the same directory twice in one process is refused
 * like a second process. On success the caller releases *out with
 * hs_datadir_unlock. */
hs_status hs_datadir_lock(const char *path, const char *what,
                          hs_dirlock **out, hs_error *err);

/* Releases the lock (the .lock file stays, empty). NULL is a no-op. */
void hs_datadir_unlock(hs_dirlock *lock);

typedef struct hs_datadir {
    char *path;
    hs_store *store;
    hs_blob_store *blobs; /* encrypting (blob_crypt.c) under keys, over the
                             backend the blobs URL names */
    hs_keyring keys;      /* the data key(s) everything is encrypted under */
    /* This open made the directory's own key (PATH/data.key and its id):
     * a first start without data-key-file. */
    int key_made;
} hs_datadir;

/* Opens (creating as needed) the data directory at `path`, with its own
 * SQLite store (sqlite:PATH/healer.db) and its own data key
 * (PATH/data.key, created at first use). Caller closes with
 * hs_datadir_close. */
hs_status hs_datadir_open(const char *path, hs_datadir **out, hs_error *err);

/* The same with the store at `store_url` (store/store.h's hs_store_open:
 * "sqlite:FILE", ...; NULL or "" = the directory's own), the stored files
 * where `blobs_url` says (blob/blob.h's hs_blob_open: "file:DIR",
 * "postgresql", ...; NULL or "" = PATH/blobs) and the data key
 * in `key_file` (the `data-key-file` setting: NULL or "" = PATH/data.key,
 * created when missing; a file named here must exist). A key file that
 * is readable by others or not a key is refused (base/datakey.h), and so
 * is a data directory whose key rotation was interrupted
 * (HS_DATADIR_REKEY_MARK: run `healer rekey` again). */
hs_status hs_datadir_open_store(const char *path, const char *store_url,
                                const char *blobs_url, const char *key_file,
                                hs_datadir **out, hs_error *err);

/* The same with the keys given (`healer rekey`: the new key current, the
 * old one previous); no check of the rekey mark. keys NULL: the records
 * only (blobs NULL, no data key needed or made), for `healer user`, which
 * never reads stored files. */
hs_status hs_datadir_open_keys(const char *path, const char *store_url,
                               const char *blobs_url, const hs_keyring *keys,
                               hs_datadir **out, hs_error *err);

/* Takes back the key this open made (key_made): PATH/data.key and the
 * directory's key id go, so that the next start is a first start again.
 * For a start refused because the shared store is sealed under another
 * key (the deployment's: data-key-file was forgotten), which sealed
 * nothing under the new one; without this the directory stayed bound to
 * a key no other process has, and the start with the right key file was
 * refused too. A no-op when the key was not made by this open. */
void hs_datadir_unmake_key(hs_datadir *d);

/* The records only: hs_datadir_open_keys(path, NULL, NULL, NULL, ...). */
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

void hs_datadir_close(hs_datadir *d);

/* The modes of what the data directory creates, whatever the umask
 * (`healer serve` also sets umask 077): its files are readable by their
 * owner only, and so are its directories. */
#define HS_DATADIR_FILE_MODE 0600
#define HS_DATADIR_DIR_MODE 0700

/* Narrows what the directory tree at `path` holds to its owner: every
 * regular file loses its group and other permissions and its set-id and
 * sticky bits (a 0644 database becomes 0600; a file someone put there
 * keeps its owner's bits), every directory becomes 0700; symbolic links
 * are neither followed nor changed, nor anything else. *files and *dirs get
 * how many were changed. Stops early, returning HS_OK with what it did so
 * far, when *stop becomes non-zero (stop may be NULL). A file that
 * vanishes meanwhile is skipped; one that cannot be changed is
 * HS_ERR_IO naming it (what was changed before it stays changed).
 * Thread-safe (no working-directory change). */
hs_status hs_datadir_fix_modes(const char *path, const atomic_int *stop,
                               size_t *files, size_t *dirs, hs_error *err);

/* The access log's file as the `access-log` setting names it: "" =
 * DIR/logs/access.log (logs/ created with mode 0700), "-" = stderr (*fd =
 * -1, path "stderr"), anything else a file path. The file is opened for
 * appending (created with mode 0600), so that logrotate's copytruncate
 * works; its path goes to path (cap bytes). Caller closes *fd. */
hs_status hs_datadir_access_log(const hs_datadir *d, const char *setting,
                                char *path, size_t cap, int *fd,
                                hs_error *err);

/* The file where healer kept the CSRF key before the store's shared
 * settings did (domain/shared_secrets.h): read once, moved into the
 * store, then removed. */
#define HS_DATADIR_OLD_SERVER_KEY "server.key"

/* The CSRF key of DIR/server.key (len bytes) when the directory has one
 * (*found = 1), else *found = 0 and HS_OK. Reads only. A file of the
 * wrong size is HS_ERR_IO naming it, never ignored (its tokens would end
 * silently). */
hs_status hs_datadir_old_server_key(const hs_datadir *d, uint8_t *key,
                                    size_t len, int *found, hs_error *err);

/* Removes DIR/server.key once the store holds the key (none: HS_OK). */
hs_status hs_datadir_old_server_key_remove(const hs_datadir *d, hs_error *err);

#endif
