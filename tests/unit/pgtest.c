/* pgtest.c - see pgtest.h. The cluster itself is tests/pg/cluster.sh's
 * (one way to make one, shared with anything else that needs it); this
 * file finds or starts it, hands out schemas, and makes sure it stops. */
#include "pgtest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#define CLUSTER_SH "tests/pg/cluster.sh"

static char base_url[512];
static char cluster_dir[256]; /* "" when the server is external */
static char script[PATH_MAX]; /* absolute path of cluster.sh */
static int watchdog_fd = -1;  /* its end closes when we exit */
static pid_t watchdog_pid;
static int schemas;   /* made so far */
static PGconn *admin; /* makes the schemas */

/* Runs `cluster.sh CMD DIR`, its first output line into out (may be
 * NULL); 0 on success. */
static int run_cluster(const char *cmd, char *out, size_t size)
{
    char line[PATH_MAX + 600];
    FILE *p;
    int rc;
    snprintf(line, sizeof line, "sh '%s' %s '%s'", script, cmd, cluster_dir);
    p = popen(line, "r");
    if (!p)
        return -1;
    if (out) {
        out[0] = '\0';
        if (fgets(out, (int)size, p))
            out[strcspn(out, "\n")] = '\0';
    }
    while (fgets(line, sizeof line, p))
        ;
    rc = pclose(p);
    return rc == 0 ? 0 : -1;
}

/* A child that waits for this process to end (its pipe's write end, held
 * only here, closes) and then stops the cluster and removes its files. */
static int start_watchdog(void)
{
    int fds[2];
    pid_t pid;
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char c, cmd[PATH_MAX + 600];
        close(fds[1]);
        setpgid(0, 0); /* not killed with the test's process group */
        while (read(fds[0], &c, 1) < 0 && errno == EINTR)
            ;
        snprintf(cmd, sizeof cmd,
                 "sh '%s' stop '%s' >/dev/null 2>&1; rm -rf '%s'", script,
                 cluster_dir, cluster_dir);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    watchdog_fd = fds[1];
    watchdog_pid = pid;
    return 0;
}

/* Drops the schemas made on an external server; for a private cluster,
 * lets the watchdog stop it and waits for that. */
static void cleanup(void)
{
    if (admin && !cluster_dir[0]) {
        for (int i = 1; i <= schemas; i++) {
            char sql[128];
            snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS t_%d_%d CASCADE",
                     (int)getpid(), i);
            PQclear(PQexec(admin, sql));
        }
    }
    PQfinish(admin);
    admin = NULL;
    if (watchdog_fd >= 0) {
        close(watchdog_fd);
        watchdog_fd = -1;
        waitpid(watchdog_pid, NULL, 0);
    }
}

static int start_private(void)
{
    if (!realpath(CLUSTER_SH, script)) {
        fprintf(stderr,
                "pgtest: %s not found (run from the repository "
                "root): %s\n",
                CLUSTER_SH, strerror(errno));
        return -1;
    }
    snprintf(cluster_dir, sizeof cluster_dir, "/tmp/healer-pg-XXXXXX");
    if (!mkdtemp(cluster_dir)) {
        fprintf(stderr, "pgtest: mkdtemp: %s\n", strerror(errno));
        cluster_dir[0] = '\0';
        return -1;
    }
    if (start_watchdog() != 0) {
        fprintf(stderr, "pgtest: cannot start the watchdog\n");
        rmdir(cluster_dir);
        cluster_dir[0] = '\0';
        return -1;
    }
    if (run_cluster("start", base_url, sizeof base_url) != 0 ||
        strncmp(base_url, "postgresql://", 13) != 0) {
        fprintf(stderr, "pgtest: PostgreSQL could not be started (%s)\n",
                CLUSTER_SH);
        base_url[0] = '\0';
        return -1;
    }
    return 0;
}

/* Notices (DROP ... IF EXISTS skipping) are not worth a line. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

const char *pgtest_url(void)
{
    static int tried;
    if (base_url[0])
        return base_url;
    if (tried)
        return NULL;
    tried = 1;
    atexit(cleanup);
    const char *env = getenv("HEALER_TEST_PG_URL");
    if (env && env[0])
        snprintf(base_url, sizeof base_url, "%s", env);
    else if (start_private() != 0)
        return NULL;
    admin = PQconnectdb(base_url);
    if (PQstatus(admin) != CONNECTION_OK) {
        fprintf(stderr, "pgtest: cannot connect to the test server: %s",
                PQerrorMessage(admin));
        base_url[0] = '\0';
        return NULL;
    }
    PQsetNoticeProcessor(admin, quiet, NULL);
    return base_url;
}

int pgtest_fresh_url(char *url, size_t size, const char *params)
{
    char sql[128], schema[64];
    PGresult *r;
    int ok;
    if (!pgtest_url())
        return -1;
    if (PQstatus(admin) != CONNECTION_OK)
        PQreset(admin); /* the cluster was restarted */
    snprintf(schema, sizeof schema, "t_%d_%d", (int)getpid(), ++schemas);
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema);
    r = PQexec(admin, sql);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "pgtest: %s: %s", sql, PQerrorMessage(admin));
    PQclear(r);
    if (!ok)
        return -1;
    int n = snprintf(url, size, "%s%coptions=-csearch_path%%3D%s%s%s", base_url,
                     strchr(base_url, '?') ? '&' : '?', schema,
                     params ? "&" : "", params ? params : "");
    return n > 0 && (size_t)n < size ? 0 : -1;
}

int pgtest_private(void)
{
    return pgtest_url() && cluster_dir[0];
}

int pgtest_stop(void)
{
    return pgtest_private() ? run_cluster("stop", NULL, 0) : -1;
}

int pgtest_start(void)
{
    char url[512];
    return pgtest_private() ? run_cluster("start", url, sizeof url) : -1;
}
