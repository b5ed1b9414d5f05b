/* base/datakey.c - data key files and key ids (see datakey.h).
 *
 * The permission check is strict on purpose: a key readable by others is
 * as good as published, and silently fixing the mode would hide that it
 * already was. The size check stops a truncated copy or a PEM file from
 * becoming a key of the wrong strength.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "base/datakey.h"

static const char KDF_CONTEXT[crypto_kdf_CONTEXTBYTES] = "hs-data";
static const char ID_LABEL[] = "healer data key id v1";

static hs_status key_fail(hs_error *err, hs_status code, const char *path,
                          const char *what, int errnum)
{
    char buf[128];
    if (!errnum)
        return hs_fail_field(err, code, "data-key-file", "data key file %s: %s",
                             path, what);
    return hs_fail_field(err, code, "data-key-file", "data key file %s: %s: %s",
                         path, what, strerror_r(errnum, buf, sizeof buf));
}

static hs_status finish(const char *path, hs_datakey *out, hs_error *err)
{
    if (strlen(path) >= sizeof out->path)
        return key_fail(err, HS_ERR_INVALID, path, "path too long", 0);
    snprintf(out->path, sizeof out->path, "%s", path);
    crypto_generichash(out->id, sizeof out->id, (const uint8_t *)ID_LABEL,
                       sizeof ID_LABEL - 1, out->key, sizeof out->key);
    sodium_bin2hex(out->id_hex, sizeof out->id_hex, out->id, sizeof out->id);
    return HS_OK;
}

hs_status hs_datakey_load(const char *path, hs_datakey *out, hs_error *err)
{
    struct stat sb;
    uint8_t buf[HS_DATAKEY_BYTES + 1];
    size_t got = 0;
    hs_status st = HS_OK;

    memset(out, 0, sizeof *out);
    if (sodium_init() < 0)
        return hs_fail(err, HS_ERR_CRYPTO, "libsodium failed to initialise");
    /* Symlinks are followed: a Kubernetes secret mount is one (key ->
     * ..data/key). The checks below are on what was opened (fstat), so a
     * link to a file others may read is refused like that file. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return key_fail(err, errno == ENOENT ? HS_ERR_NOTFOUND : HS_ERR_IO,
                        path, "cannot open", errno);
    if (fstat(fd, &sb) != 0)
        st = key_fail(err, HS_ERR_IO, path, "cannot stat", errno);
    else if (!S_ISREG(sb.st_mode))
        st = key_fail(err, HS_ERR_INVALID, path, "not a regular file", 0);
    else if (sb.st_mode & 077)
        st = key_fail(err, HS_ERR_DENIED, path,
                      "readable or writable by group or others; "
                      "chmod 600 it (and check who copied it)",
                      0);
    while (st == HS_OK && got < sizeof buf) {
        ssize_t n = read(fd, buf + got, sizeof buf - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            st = key_fail(err, HS_ERR_IO, path, "cannot read", errno);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (st == HS_OK && got != HS_DATAKEY_BYTES)
        st = key_fail(err, HS_ERR_INVALID, path,
                      "not a data key (it must hold exactly 32 bytes; "
                      "`healer key new --out FILE` makes one)",
                      0);
    if (st == HS_OK) {
        memcpy(out->key, buf, HS_DATAKEY_BYTES);
        st = finish(path, out, err);
    }
    sodium_memzero(buf, sizeof buf);
    if (st != HS_OK)
        sodium_memzero(out, sizeof *out);
    return st;
}

/* Writes len bytes to a new file `tmp` (mode 0600 exactly, fsynced). */
static hs_status write_new(const char *tmp, const uint8_t *buf, size_t len,
                           const char *path, hs_error *err)
{
    hs_status st = HS_OK;
    int fd =
        open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return key_fail(err, HS_ERR_IO, path, "cannot create", errno);
    /* The mode asked of open() is masked by the umask: set it exactly. */
    if (fchmod(fd, 0600) != 0)
        st = key_fail(err, HS_ERR_IO, path, "cannot chmod", errno);
    size_t done = 0;
    while (st == HS_OK && done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            st = key_fail(err, HS_ERR_IO, path, "cannot write", errno);
        else
            done += (size_t)n;
    }
    if (st == HS_OK && fsync(fd) != 0)
        st = key_fail(err, HS_ERR_IO, path, "cannot fsync", errno);
    if (close(fd) != 0 && st == HS_OK)
        st = key_fail(err, HS_ERR_IO, path, "cannot close", errno);
    if (st != HS_OK)
        unlink(tmp);
    return st;
}

hs_status hs_datakey_create(const char *path, hs_datakey *out, hs_error *err)
{
    hs_datakey key;
    char tmp[HS_DATAKEY_PATH_MAX + 32];

    memset(&key, 0, sizeof key);
    if (sodium_init() < 0)
        return hs_fail(err, HS_ERR_CRYPTO, "libsodium failed to initialise");
    if (strlen(path) >= HS_DATAKEY_PATH_MAX)
        return key_fail(err, HS_ERR_INVALID, path, "path too long", 0);
    randombytes_buf(key.key, sizeof key.key);
    /* A temporary name, then link(): the key appears whole or not at all,
     * and of two processes creating it at once one wins, the other is
     * told (and reads the winner's). */
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    hs_status st = write_new(tmp, key.key, sizeof key.key, path, err);
    if (st == HS_OK) {
        if (link(tmp, path) != 0)
            st = errno == EEXIST
                     ? key_fail(err, HS_ERR_CONFLICT, path,
                                "already exists; a key is never overwritten", 0)
                     : key_fail(err, HS_ERR_IO, path, "cannot create", errno);
        unlink(tmp);
    }
    if (st == HS_OK)
        st = finish(path, &key, err);
    if (st == HS_OK && out)
        *out = key;
    sodium_memzero(&key, sizeof key);
    return st;
}

hs_status hs_datakey_install(const hs_datakey *key, const char *path,
                             hs_error *err)
{
    char tmp[HS_DATAKEY_PATH_MAX + 32];
    if (strlen(path) >= HS_DATAKEY_PATH_MAX)
        return key_fail(err, HS_ERR_INVALID, path, "path too long", 0);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    hs_status st = write_new(tmp, key->key, sizeof key->key, path, err);
    if (st == HS_OK && rename(tmp, path) != 0) {
        st = key_fail(err, HS_ERR_IO, path, "cannot replace", errno);
        unlink(tmp);
    }
    return st;
}

hs_status hs_datakey_load_or_create(const char *path, hs_datakey *out,
                                    hs_error *err)
{
    hs_status st = hs_datakey_load(path, out, err);
    if (st != HS_ERR_NOTFOUND)
        return st;
    st = hs_datakey_create(path, out, err);
    /* Another process created it meanwhile: read theirs. */
    return st == HS_ERR_CONFLICT ? hs_datakey_load(path, out, err) : st;
}

void hs_datakey_subkey(const hs_datakey *key, hs_datakey_use use,
                       uint8_t out[HS_DATAKEY_BYTES])
{
    crypto_kdf_derive_from_key(out, HS_DATAKEY_BYTES, (uint64_t)use,
                               KDF_CONTEXT, key->key);
}

const hs_datakey *hs_keyring_find(const hs_keyring *ring,
                                  const uint8_t id[HS_DATAKEY_ID_BYTES])
{
    if (!sodium_memcmp(ring->current.id, id, HS_DATAKEY_ID_BYTES))
        return &ring->current;
    if (ring->has_previous &&
        !sodium_memcmp(ring->previous.id, id, HS_DATAKEY_ID_BYTES))
        return &ring->previous;
    return NULL;
}

void hs_datakey_wipe(void *key, size_t len)
{
    sodium_memzero(key, len);
}
