/* cmd_key.c - `healer key new --out FILE` and `healer rekey`: the data key
 * that stored files and KPI values are encrypted under (base/datakey.h,
 * docs/security.md "Encryption at rest").
 *
 * `healer rekey` rotates the key while no server runs (it takes the data
 * directory's lock): every blob and every sealed database value is
 * re-encrypted under the new key, one at a time, each replaced
 * atomically. Each names the key it is under, so an interrupted rotation
 * is finished by running the same command again; meanwhile a mark file
 * keeps servers from starting on a half-rotated directory. The data
 * directory's own key file is replaced last; a key kept elsewhere
 * (--data-key-file) is left alone and the server is then pointed at the
 * new file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/datakey.h"
#include "blob/blob.h"
#include "cli.h"
#include "domain/sealed.h"
#include "domain/shared_secrets.h"
#include "server/datadir.h"

static const char KEY_USAGE[] =
    "Usage: healer key new --out FILE\n\n"
    "Writes a new data key (32 random bytes) to FILE, created with mode\n"
    "0600; an existing file is never overwritten. Give it to `healer serve\n"
    "--data-key-file FILE` (or the data-key-file setting) to keep the key\n"
    "apart from the data, or to `healer rekey --new-key-file FILE`.\n\n"
    "Options:\n"
    "  --out FILE   where to write the key (required)\n"
    "  -h, --help   show this help\n";

static const char REKEY_USAGE[] =
    "Usage: healer rekey --new-key-file FILE [--data-dir DIR]\n"
    "                    [--data-key-file FILE] [--store URL] [--blobs URL]\n\n"
    "Re-encrypts every stored file and every KPI value of the database\n"
    "under the key in --new-key-file (made by `healer key new`), while no\n"
    "server uses the data directory. Interrupted, run it again with the same\n"
    "options: it goes on where it stopped. Files and values stored before\n"
    "encryption existed are encrypted too. Afterwards DIR/data.key holds the\n"
    "new key; with --data-key-file the old file is left as it is and the\n"
    "server must be started with --data-key-file set to the new one.\n\n"
    "Options:\n"
    "  --new-key-file FILE   the new data key (required)\n"
    "  --data-dir DIR        data directory (" HS_DATADIR_DEFAULT ")\n"
    "  --data-key-file FILE  the current key; default DIR/data.key\n"
    "  --store URL           the record store, as `healer serve --store`\n"
    "  --blobs URL           the stored files, as `healer serve --blobs`\n"
    "  -h, --help            show this help\n";

static int runtime_error(const char *cmd, const hs_error *err)
{
    fprintf(stderr, "healer %s: error: %s\n", cmd, err->message);
    return CLI_RUNTIME;
}

/* The usage error of getopt's ':' (a flag without its value) or '?'. */
static int bad_option(const char *cmd, int opt, const char *arg)
{
    return cli_usage_error(cmd, "%s '%s'",
                           opt == ':' ? "missing value for" : "unknown option",
                           arg);
}

int cmd_key(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *out = NULL;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(KEY_USAGE, stdout);
            return CLI_OK;
        case 'o':
            out = optarg;
            break;
        default:
            return bad_option("key", opt, argv[optind - 1]);
        }
    }
    if (argc - optind != 1 || strcmp(argv[optind], "new") != 0)
        return cli_usage_error("key", "expected: healer key new --out FILE");
    if (!out || !*out)
        return cli_usage_error("key", "--out FILE is required");
    hs_datakey key;
    hs_error err = {0};
    if (hs_datakey_create(out, &key, &err) != HS_OK)
        return runtime_error("key", &err);
    printf("wrote data key %s to %s (mode 0600)\n", key.id_hex, out);
    hs_datakey_wipe(&key, sizeof key);
    return CLI_OK;
}

typedef struct rekey_opts {
    const char *data_dir, *key_file, *new_key_file, *store, *blobs;
} rekey_opts;

/* Creates (or keeps) the mark that a rotation is under way, durably. */
static hs_status set_mark(const char *mark, hs_error *err)
{
    int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || fsync(fd) != 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        return hs_fail(err, HS_ERR_IO, "%s: cannot write: %s", mark,
                       strerror(saved));
    }
    close(fd);
    return HS_OK;
}

/* The keys of the rotation: the new one current, the old one previous
 * (none for a directory from before encryption, without a key yet). */
static hs_status rotation_keys(const rekey_opts *o, hs_keyring *ring,
                               hs_error *err)
{
    memset(ring, 0, sizeof *ring);
    /* Plain files and values are encrypted only in the one-time migration
     * of a directory not encrypted yet; data.keyid is written once all is
     * encrypted, so an interrupted migration is still one when resumed.
     * Asked first: the key id check below records a key id for a
     * directory that has no stored files. */
    ring->migrating = !hs_datadir_encrypted(o->data_dir);
    hs_status st = hs_datakey_load(o->new_key_file, &ring->current, err);
    if (st != HS_OK)
        return st;
    st = hs_datadir_data_key(o->data_dir, o->key_file, 0, &ring->previous, err);
    ring->has_previous = st == HS_OK;
    /* The old key must be the one the directory is under (or, when a run
     * was interrupted after recording it, the new one already); a
     * directory from before encryption has none yet (HS_ERR_CONFLICT). */
    hs_status known = st == HS_OK ? hs_datadir_key_id_check(
                                        o->data_dir, &ring->previous, err)
                                  : HS_OK;
    if (known == HS_ERR_CRYPTO) {
        hs_error again = {0};
        known = hs_datadir_key_id_check(o->data_dir, &ring->current, &again);
        if (known == HS_ERR_CRYPTO)
            return known; /* err names the old key file */
    }
    if (known != HS_OK && known != HS_ERR_CONFLICT)
        return known;
    if (known != HS_OK)
        memset(err, 0, sizeof *err);
    if (st == HS_ERR_NOTFOUND && !(o->key_file && *o->key_file)) {
        memset(err, 0, sizeof *err);
        return HS_OK; /* nothing was encrypted yet */
    }
    return st;
}

static hs_status rotate(const rekey_opts *o, const hs_keyring *ring,
                        const char *mark, hs_error *err)
{
    hs_datadir *dd = NULL;
    hs_blob_rekey_counts blobs = {0};
    hs_sealed_rekey_counts values = {0};
    hs_status st = set_mark(mark, err);
    if (st == HS_OK)
        st = hs_datadir_open_keys(o->data_dir, o->store, o->blobs, ring, &dd,
                                  err);
    if (st == HS_OK)
        st = hs_blob_crypt_rekey(dd->blobs, &blobs, err);
    if (st == HS_OK) {
        hs_app app = {.store = dd->store,
                      .blobs = dd->blobs,
                      .clock = hs_clock_system(),
                      .keys = &dd->keys};
        st = hs_sealed_rekey(&app, &values, err);
        if (st == HS_OK) /* the shared CSRF key, sealed like a value */
            st = hs_shared_rekey(&app, NULL, err);
    }
    hs_datadir_close(dd);
    if (st != HS_OK)
        return st;
    /* Everything is under the new key: record it first, then replace the
     * directory's own key file. A crash between the two leaves the old
     * file and the new id, which the next run accepts (the new key given
     * is the directory's); the other order would leave a key file that
     * no longer matches and a run that refuses it. */
    if ((st = hs_datadir_key_id_put(o->data_dir, &ring->current, err)) != HS_OK)
        return st;
    if (!(o->key_file && *o->key_file)) {
        size_t n = strlen(o->data_dir) + sizeof "/" HS_DATAKEY_FILE;
        char *own = malloc(n);
        if (!own)
            return hs_fail(err, HS_ERR_NOMEM, "out of memory");
        snprintf(own, n, "%s/%s", o->data_dir, HS_DATAKEY_FILE);
        st = hs_datakey_install(&ring->current, own, err);
        free(own);
        if (st != HS_OK)
            return st;
    }
    if (unlink(mark) != 0)
        return hs_fail(err, HS_ERR_IO, "%s: cannot remove: %s", mark,
                       strerror(errno));
    printf(
        "data key is now %s: files re-encrypted %llu, encrypted from "
        "plain %llu, already done %llu; database values re-encrypted "
        "%llu, encrypted from plain %llu, already done %llu\n",
        ring->current.id_hex, (unsigned long long)blobs.rekeyed,
        (unsigned long long)blobs.encrypted, (unsigned long long)blobs.already,
        (unsigned long long)values.rekeyed, (unsigned long long)values.sealed,
        (unsigned long long)values.already);
    if (o->key_file && *o->key_file)
        printf("start the server with --data-key-file %s from now on; %s "
               "is no longer needed\n",
               o->new_key_file, o->key_file);
    return HS_OK;
}

static int rekey(const rekey_opts *o)
{
    hs_error err = {0};
    hs_keyring ring;
    hs_dirlock *lock = NULL;
    size_t n = strlen(o->data_dir) + sizeof "/" HS_DATADIR_REKEY_MARK;
    char *mark = malloc(n);
    if (!mark)
        return CLI_RUNTIME;
    snprintf(mark, n, "%s/%s", o->data_dir, HS_DATADIR_REKEY_MARK);
    hs_status st = hs_datadir_lock(o->data_dir, "healer rekey", &lock, &err);
    if (st == HS_OK)
        st = rotation_keys(o, &ring, &err);
    if (st == HS_OK)
        st = rotate(o, &ring, mark, &err);
    hs_datakey_wipe(&ring, sizeof ring);
    hs_datadir_unlock(lock);
    free(mark);
    return st == HS_OK ? CLI_OK : runtime_error("rekey", &err);
}

int cmd_rekey(int argc, char **argv)
{
    static const struct option opts[] = {
        {"new-key-file", required_argument, 0, 'n'},
        {"data-dir", required_argument, 0, 'd'},
        {"data-key-file", required_argument, 0, 'k'},
        {"store", required_argument, 0, 's'},
        {"blobs", required_argument, 0, 'b'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    rekey_opts o = {HS_DATADIR_DEFAULT, NULL, NULL, NULL, NULL};
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(REKEY_USAGE, stdout);
            return CLI_OK;
        case 'n':
            o.new_key_file = optarg;
            break;
        case 'd':
            o.data_dir = optarg;
            break;
        case 'k':
            o.key_file = optarg;
            break;
        case 's':
            o.store = optarg;
            break;
        case 'b':
            o.blobs = optarg;
            break;
        default:
            return bad_option("rekey", opt, argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage_error("rekey", "unexpected argument '%s'",
                               argv[optind]);
    if (!o.new_key_file || !*o.new_key_file)
        return cli_usage_error("rekey", "--new-key-file FILE is required "
                                        "(`healer key new --out FILE` "
                                        "makes one)");
    if (!*o.data_dir)
        return cli_usage_error("rekey", "--data-dir must not be empty");
    return rekey(&o);
}
