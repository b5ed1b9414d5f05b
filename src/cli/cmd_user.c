/* cmd_user.c - `healer user add NAME [--admin] [--email ADDR]` and
 * `healer user unlock NAME`: accounts from the shell.
 *
 * The first administrator of a new installation is made here (or through
 * the one-time setup token of `healer serve`); `unlock` lifts a lock when
 * no administrator can log in (the last one locked, no mail relay) - with
 * the same rules and the same "unlocked" event as the admin API. The password is read from
 * the terminal with echo off, asked twice, or - when stdin is not a
 * terminal, as in scripts - as one line from stdin. It never appears in
 * argv, where `ps` would show it.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "base/clock.h"
#include "cli.h"
#include "domain/accounts.h"
#include "server/datadir.h"
#include "store/store.h"

static const char USER_USAGE[] =
    "Usage: healer user add NAME [--admin] [--email ADDR] [--data-dir DIR | "
    "--store URL]\n"
    "       healer user unlock NAME [--data-dir DIR | --store URL]\n\n"
    "add: creates a user of the web platform. The password is read from the\n"
    "terminal (asked twice, not echoed) or, when stdin is not a terminal, as\n"
    "one line from stdin. The data directory and its store are created when\n"
    "they do not exist yet.\n"
    "unlock: lifts the lock that failed logins put on an account (its unlock\n"
    "links stop working; the failures before no longer count).\n\n"
    "Options:\n"
    "  --admin          the user administers the platform (add)\n"
    "  --email ADDR     where the user's alerts are mailed, e.g. an account\n"
    "                   lock's unlock link (add; at most 254 bytes, one '@')\n"
    "  --data-dir DIR   data directory (" HS_DATADIR_DEFAULT ")\n"
    "  --store URL      the record store itself, as `healer serve --store`\n"
    "                   (sqlite:FILE, ...), without a data directory: the\n"
    "                   store of a deployment of several processes\n"
    "  -h, --help       show this help\n";

#define PASSWORD_BUF (HS_PASSWORD_MAX_BYTES + 2)

/* One line from f without its line end; -1 on EOF/error, -2 when longer
 * than the buffer. */
static int read_line(FILE *f, char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, f))
        return -1;
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] != '\n' && !feof(f))
        return -2;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return 0;
}

static int prompt_hidden(const char *prompt, char *buf, size_t cap)
{
    struct termios old, quiet;
    fputs(prompt, stderr);
    fflush(stderr);
    int have_tty = tcgetattr(STDIN_FILENO, &old) == 0;
    if (have_tty) {
        quiet = old;
        quiet.c_lflag &= (tcflag_t)~ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    int rc = read_line(stdin, buf, cap);
    if (have_tty)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fputc('\n', stderr);
    return rc;
}

/* Fills buf with the new password; prints the problem and returns
 * CLI_RUNTIME when there is none to be had. */
static int get_password(const char *name, char *buf, size_t cap)
{
    if (!isatty(STDIN_FILENO)) {
        int rc = read_line(stdin, buf, cap);
        if (rc == 0)
            return CLI_OK;
        fprintf(stderr, "healer user: error: %s\n",
                rc == -2 ? "the password on stdin is too long"
                         : "no password on stdin (one line expected)");
        return CLI_RUNTIME;
    }
    char again[PASSWORD_BUF];
    char prompt[128];
    snprintf(prompt, sizeof prompt, "Password for %s: ", name);
    if (prompt_hidden(prompt, buf, cap) != 0 ||
        prompt_hidden("Repeat the password: ", again, sizeof again) != 0) {
        fprintf(stderr, "healer user: error: no password entered\n");
        return CLI_RUNTIME;
    }
    int same = strcmp(buf, again) == 0;
    sodium_memzero(again, sizeof again);
    if (!same) {
        fprintf(stderr, "healer user: error: the passwords differ\n");
        return CLI_RUNTIME;
    }
    return CLI_OK;
}

/* Where the accounts are: the store at --store, or the data directory's
 * own (created when missing). */
typedef struct user_where {
    const char *data_dir;
    const char *store_url; /* NULL: the data directory's */
} user_where;

/* Opens the records of `w` into *store (and *dd for a data directory; the
 * caller closes both with close_records). */
static hs_status open_records(const user_where *w, hs_store **store,
                              hs_datadir **dd, hs_error *err)
{
    *store = NULL;
    *dd = NULL;
    if (w->store_url)
        return hs_store_open(w->store_url, store, err);
    hs_status st = hs_datadir_open_records(w->data_dir, dd, err);
    if (st == HS_OK)
        *store = (*dd)->store;
    return st;
}

static void close_records(hs_store *store, hs_datadir *dd)
{
    if (dd)
        hs_datadir_close(dd);
    else if (store)
        hs_store_close(store);
}

/* What the messages call it: the directory, or the store (never its URL,
 * which may hold a password). */
static const char *where_name(const user_where *w)
{
    return w->store_url ? "the store given by --store" : w->data_dir;
}

/* The app over the records, for the accounts service (no stored file is
 * read: no blobs, no data key). */
static hs_app cli_app(hs_store *store)
{
    hs_app app = {.store = store, .clock = hs_clock_system()};
    return app;
}

static int user_add(const char *name, int admin, const char *email,
                    const user_where *w)
{
    hs_error err = {0};
    hs_status st = hs_auth_init(&err);
    if (st == HS_OK)
        st = hs_accounts_check_username(name, &err);
    if (st == HS_OK)
        st = hs_accounts_check_email(email, &err);
    if (st != HS_OK)
        return cli_usage_error("user", "%s", err.message);
    char password[PASSWORD_BUF];
    int rc = get_password(name, password, sizeof password);
    if (rc != CLI_OK)
        return rc;
    hs_datadir *dd = NULL;
    hs_store *store = NULL;
    hs_id id = 0;
    umask(077); /* it may create the data directory and its store */
    st = open_records(w, &store, &dd, &err);
    if (st == HS_OK) {
        hs_app app = cli_app(store);
        st = hs_accounts_create_user(&app, hs_actor_cli(), name, password,
                                     admin, email, &id, &err);
    }
    sodium_memzero(password, sizeof password);
    close_records(store, dd);
    if (st != HS_OK) {
        fprintf(stderr, "healer user: error: %s\n", err.message);
        return CLI_RUNTIME;
    }
    printf("created %s '%s' (id %lld) in %s\n", admin ? "administrator" : "user",
           name, (long long)id, where_name(w));
    return CLI_OK;
}

static int user_unlock(const char *name, const user_where *w)
{
    hs_error err = {0};
    hs_datadir *dd = NULL;
    hs_store *store = NULL;
    hs_user u;
    int was_locked = 0;
    hs_status st = hs_auth_init(&err);
    if (st == HS_OK)
        st = open_records(w, &store, &dd, &err);
    if (st == HS_OK) {
        hs_app app = cli_app(store);
        st = hs_accounts_find(&app, name, &u, &err);
        was_locked = st == HS_OK && u.locked_until > hs_clock_now(app.clock);
        if (st == HS_OK)
            st = hs_accounts_unlock(&app, hs_actor_cli(), u.id, &err);
    }
    close_records(store, dd);
    if (st != HS_OK) {
        fprintf(stderr, "healer user: error: %s%s%s\n", err.message,
                st == HS_ERR_NOTFOUND ? " in " : "",
                st == HS_ERR_NOTFOUND ? where_name(w) : "");
        return CLI_RUNTIME;
    }
    printf("unlocked '%s' in %s%s\n", name, where_name(w),
           was_locked ? "" : " (it was not locked)");
    return CLI_OK;
}

int cmd_user(int argc, char **argv)
{
    static const struct option opts[] = {
        {"admin", no_argument, 0, 'a'},
        {"email", required_argument, 0, 'e'},
        {"data-dir", required_argument, 0, 'd'},
        {"store", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int admin = 0, opt;
    const char *data_dir = NULL, *email = NULL, *store_url = NULL;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h': fputs(USER_USAGE, stdout); return CLI_OK;
        case 'a': admin = 1; break;
        case 'e': email = optarg; break;
        case 'd': data_dir = optarg; break;
        case 's': store_url = optarg; break;
        default:
            return cli_usage_error("user", "%s '%s'",
                                   opt == ':' ? "missing value for"
                                              : "unknown option",
                                   argv[optind - 1]);
        }
    }
    const char *verb = optind < argc ? argv[optind] : "";
    if (argc - optind != 2 || (strcmp(verb, "add") && strcmp(verb, "unlock")))
        return cli_usage_error("user", "expected: healer user add NAME, or "
                                       "healer user unlock NAME");
    if (data_dir && store_url)
        return cli_usage_error("user", "--data-dir and --store name two "
                                       "places: give one");
    if (store_url && !*store_url)
        return cli_usage_error("user", "--store must not be empty");
    user_where w = {data_dir ? data_dir : HS_DATADIR_DEFAULT, store_url};
    if (!strcmp(verb, "unlock")) {
        if (admin || email)
            return cli_usage_error("user", "%s is for 'user add' only",
                                   admin ? "--admin" : "--email");
        return user_unlock(argv[optind + 1], &w);
    }
    return user_add(argv[optind + 1], admin, email, &w);
}
