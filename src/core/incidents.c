/* incidents.c - reads an incident file (healer/incidents.h): the KPI rows
 * of many nodes during many incidents, regrouped by incident, node and
 * time for root-cause analysis.
 *
 * The file is read by the one CSV reader with incident_id, node and
 * timestamp as text columns, copied into one block rather than one
 * allocation per cell (three per row, millions in a large file), and on
 * the caller's hl_csv_options.threads; the reader also gives each row's
 * physical line, so a bad timestamp or an unknown node is reported where
 * it is. Rows are then keyed: the incident by its id in
 * order of first appearance, the node by its topology index (or by its
 * own order of appearance without a topology), the time parsed here. An
 * export is usually in that order already; when it is not, rows are
 * regrouped by a stable counting sort on the incident and a sort of each
 * incident's rows by (node, time, file order), never across incidents.
 *
 * Timestamps: integer (or decimal) seconds, or ISO 8601 with a date, a
 * time to the minute or finer, an optional fraction and an optional zone
 * (Z, +hh:mm, +hhmm, +hh); no zone means UTC. A date alone is midnight.
 * Week dates, ordinal dates and the basic forms without separators are
 * refused: no monitoring export writes them, and refusing is clearer
 * than guessing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "healer/incidents.h"
#include "idmap.h"
#include "internal.h"

/* Column positions in reader.text. */
enum { COL_ID, COL_NODE, COL_TIME, N_COLS };

static const char *const col_names[N_COLS] = {
    HL_INCIDENT_ID_COLUMN, HL_INCIDENT_NODE_COLUMN, HL_INCIDENT_TIME_COLUMN};

/* Seconds beyond which a number is not a timestamp (year ~33,000): keeps
 * every accepted value exact to the millisecond in a double. */
#define MAX_ABS_SECONDS 1e12

/* ---- timestamps -------------------------------------------------------- */

/* Reads exactly n digits at *p into *v. */
static int digits(const char **p, const char *end, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (*p >= end || (*p)[0] < '0' || (*p)[0] > '9')
            return -1;
        x = x * 10 + (*(*p)++ - '0');
    }
    *v = x;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static long days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* [.,]digits: the fraction of a second (or 0 when there is none). */
static int fraction(const char **p, const char *end, double *out)
{
    double f = 0, scale = 0.1;
    *out = 0;
    if (*p >= end || (**p != '.' && **p != ','))
        return 0;
    (*p)++;
    if (*p >= end || **p < '0' || **p > '9')
        return -1;
    for (; *p < end && **p >= '0' && **p <= '9'; (*p)++, scale /= 10)
        f += (**p - '0') * scale;
    *out = f;
    return 0;
}

/* Z, +hh:mm, +hhmm, +hh (or -) at *p; the offset in seconds east of UTC. */
static int zone(const char **p, const char *end, long *offset)
{
    int hh, mm = 0;
    *offset = 0;
    if (*p == end)
        return 0;
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
        return 0;
    }
    if (**p != '+' && **p != '-')
        return -1;
    int sign = *(*p)++ == '-' ? -1 : 1;
    if (digits(p, end, 2, &hh))
        return -1;
    int colon = *p < end && **p == ':';
    *p += colon;
    if ((colon || *p < end) && digits(p, end, 2, &mm))
        return -1;
    if (hh > 23 || mm > 59)
        return -1;
    *offset = sign * (hh * 3600L + mm * 60L);
    return 0;
}

static int parse_iso(const char *p, const char *end, double *seconds)
{
    int y, mo, d, h = 0, mi = 0, s = 0;
    double frac = 0;
    long offset = 0;
    if (digits(&p, end, 4, &y) || p >= end || *p++ != '-' ||
        digits(&p, end, 2, &mo) || p >= end || *p++ != '-' ||
        digits(&p, end, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    if (p < end) {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return -1;
        p++;
        if (digits(&p, end, 2, &h) || p >= end || *p++ != ':' ||
            digits(&p, end, 2, &mi))
            return -1;
        if (p < end && *p == ':') {
            p++;
            if (digits(&p, end, 2, &s) || fraction(&p, end, &frac))
                return -1;
        }
        if (h > 23 || mi > 59 || s > 59 || zone(&p, end, &offset) || p != end)
            return -1;
    }
    *seconds = (double)days_from_civil(y, mo, d) * 86400.0 + h * 3600.0 +
               mi * 60.0 + s + frac - (double)offset;
    return 0;
}

/* [+-]digits[.digits]: seconds since whatever origin the file uses. Read
 * by hand, not strtod: it runs once per row of files of millions, and
 * needs no locale. Integers up to MAX_ABS_SECONDS are exact, a
 * fraction is one division (1700000000.25 is exact too). */
static int parse_seconds(const char *p, const char *end, double *seconds)
{
    int neg = p < end && *p == '-';
    p += p < end && (*p == '+' || *p == '-');
    const char *first = p;
    double v = 0, num = 0, den = 1;
    for (; p < end && *p >= '0' && *p <= '9'; p++)
        if ((v = v * 10 + (*p - '0')) > MAX_ABS_SECONDS)
            return -1;
    if (p == first)
        return -1;
    if (p < end && *p == '.') {
        const char *dot = ++p;
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (den < 1e15) { /* digits past a femtosecond change nothing */
                num = num * 10 + (*p - '0');
                den *= 10;
            }
        if (p == dot)
            return -1;
        v += num / den;
    }
    if (p != end)
        return -1;
    *seconds = neg ? -v : v;
    return 0;
}

int hl_incident_parse_time(const char *text, double *seconds)
{
    if (!text || !seconds)
        return -1;
    const char *p = text, *end = text + strlen(text);
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    /* An ISO date has its first '-' after four digits; a number never. */
    if (end - p >= 5 && p[4] == '-')
        return parse_iso(p, end, seconds);
    return parse_seconds(p, end, seconds);
}

int hl_incidents_header_matches(const char *data, size_t len)
{
    return hl__csv_header_names(data, len, col_names, N_COLS);
}

/* ---- reading ----------------------------------------------------------- */

/* One row's keys, and where it goes. */
typedef struct row_key {
    size_t incident, node;
    double time;
    size_t row; /* in the file's order */
} row_key;

typedef struct reader {
    const char *name;
    const hl_topology *t;
    hl_dataset *ds; /* as read: the KPIs */
    size_t *lines;  /* per row of ds */
    char **text;    /* per row of ds, its N_COLS text cells: into arena */
    char *arena;    /* every text cell, one block (moved to the result) */
    size_t text_col[N_COLS];
    row_key *keys;       /* per row of ds */
    hl__idmap incidents; /* ids borrowed from the arena */
    hl__idmap nodes;     /* ids borrowed from the arena */
    size_t *node_index;  /* per entry of nodes: topology index (or itself) */
    size_t node_index_cap;
    hl_error *err;
} reader;

static const char *cell(const reader *r, size_t row, int col)
{
    return r->text[row * N_COLS + (size_t)col];
}

/* An error about the cell of row `row` in column col, quoting (the start
 * of) its value after `what`. */
static hl_status cell_fail(const reader *r, hl_status code, size_t row, int col,
                           const char *what)
{
    char value[64];
    hl__id_excerpt(value, sizeof value, cell(r, row, col));
    return hl__fail_at(r->err, code, r->name, r->lines[row], col_names[col],
                       r->text_col[col] + 1, "%s: \"%s%s\"", what, value,
                       strlen(cell(r, row, col)) >= sizeof value ? "..." : "");
}

static hl_status nomem(const reader *r)
{
    return hl__fail_at(r->err, HL_ERR_NOMEM, r->name, 0, NULL, 0,
                       "out of memory reading the incidents");
}

static hl_status key_incident(reader *r, size_t row)
{
    const char *id = cell(r, row, COL_ID);
    size_t n = strlen(id);
    if (n == 0)
        return hl__fail_at(r->err, HL_ERR_DATA, r->name, r->lines[row],
                           col_names[COL_ID], r->text_col[COL_ID] + 1,
                           "empty incident id");
    if (n > HL_INCIDENT_MAX_ID)
        return cell_fail(
            r, HL_ERR_DATA, row, COL_ID,
            "incident id longer than " HL__STR(HL_INCIDENT_MAX_ID) " bytes");
    const char *why = hl__id_text_problem(id, n);
    if (why) {
        char what[64];
        snprintf(what, sizeof what, "incident id %s", why);
        return cell_fail(r, HL_ERR_DATA, row, COL_ID, what);
    }
    int added;
    long k = hl__idmap_get(&r->incidents, id, &added);
    if (k < 0)
        return nomem(r);
    r->keys[row].incident = (size_t)k;
    return HL_OK;
}

/* A node named for the first time: its topology index (or its own). */
static hl_status node_first_seen(reader *r, size_t row, size_t k)
{
    if (k >= r->node_index_cap) {
        size_t cap = r->node_index_cap ? 2 * r->node_index_cap : 64;
        size_t *v = realloc(r->node_index, cap * sizeof *v);
        if (!v)
            return nomem(r);
        r->node_index = v;
        r->node_index_cap = cap;
    }
    r->node_index[k] = k;
    if (strlen(cell(r, row, COL_NODE)) > HL_TOPOLOGY_MAX_ID)
        return cell_fail(
            r, HL_ERR_DATA, row, COL_NODE,
            "node id longer than " HL__STR(HL_TOPOLOGY_MAX_ID) " bytes");
    const char *id = cell(r, row, COL_NODE);
    const char *why = hl__id_text_problem(id, strlen(id));
    if (why) {
        char what[64];
        snprintf(what, sizeof what, "node id %s", why);
        return cell_fail(r, HL_ERR_DATA, row, COL_NODE, what);
    }
    if (!r->t)
        return HL_OK;
    long v = hl_topology_find(r->t, cell(r, row, COL_NODE));
    if (v < 0)
        return cell_fail(r, HL_ERR_DATA, row, COL_NODE,
                         "node not in the topology");
    r->node_index[k] = (size_t)v;
    return HL_OK;
}

static hl_status key_node(reader *r, size_t row)
{
    const char *id = cell(r, row, COL_NODE);
    if (!*id)
        return hl__fail_at(r->err, HL_ERR_DATA, r->name, r->lines[row],
                           col_names[COL_NODE], r->text_col[COL_NODE] + 1,
                           "empty node id");
    int added;
    long k = hl__idmap_get(&r->nodes, id, &added);
    if (k < 0)
        return nomem(r);
    if (added) {
        hl_status rc = node_first_seen(r, row, (size_t)k);
        if (rc != HL_OK)
            return rc;
    }
    r->keys[row].node = r->node_index[k];
    return HL_OK;
}

static hl_status key_rows(reader *r)
{
    for (size_t i = 0; i < r->ds->n_rows; i++) {
        hl_status rc = key_incident(r, i);
        if (rc == HL_OK)
            rc = key_node(r, i);
        if (rc != HL_OK)
            return rc;
        if (hl_incident_parse_time(cell(r, i, COL_TIME), &r->keys[i].time))
            return cell_fail(r, HL_ERR_PARSE, i, COL_TIME,
                             "not a timestamp (integer seconds or ISO 8601 "
                             "such as 2026-12-07T04:34:18Z)");
        r->keys[i].row = i;
    }
    return HL_OK;
}

static int key_cmp(const row_key *a, const row_key *b)
{
    if (a->incident != b->incident)
        return a->incident < b->incident ? -1 : 1;
    if (a->node != b->node)
        return a->node < b->node ? -1 : 1;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

static int key_qsort_cmp(const void *a, const void *b)
{
    return key_cmp(a, b);
}

/* Stable by incident (counting), then each incident's rows sorted. */
static hl_status sort_keys(reader *r)
{
    const size_t n = r->ds->n_rows, n_inc = r->incidents.n;
    int sorted = 1;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = key_cmp(&r->keys[i - 1], &r->keys[i]) < 0;
    if (sorted)
        return HL_OK;
    size_t *start = calloc(n_inc + 1, sizeof *start);
    row_key *out = malloc(n * sizeof *out);
    if (!start || !out) {
        free(start);
        free(out);
        return nomem(r);
    }
    for (size_t i = 0; i < n; i++)
        start[r->keys[i].incident + 1]++;
    for (size_t k = 0; k < n_inc; k++)
        start[k + 1] += start[k];
    for (size_t i = 0; i < n; i++)
        out[start[r->keys[i].incident]++] = r->keys[i];
    for (size_t k = 0, begin = 0; k < n_inc; k++) {
        qsort(out + begin, start[k] - begin, sizeof *out, key_qsort_cmp);
        begin = start[k];
    }
    free(start);
    free(r->keys);
    r->keys = out;
    return HL_OK;
}

/* The incidents and their node groups, from the sorted keys. */
static hl_status build_groups(reader *r, hl_incidents *inc)
{
    const size_t n = r->ds->n_rows;
    inc->n_incidents = r->incidents.n;
    inc->incidents = calloc(inc->n_incidents, sizeof *inc->incidents);
    if (!inc->incidents)
        return nomem(r);
    for (size_t i = 0; i < n;) {
        size_t k = r->keys[i].incident, end = i, groups = 0;
        while (end < n && r->keys[end].incident == k) {
            groups += end == i || r->keys[end].node != r->keys[end - 1].node;
            end++;
        }
        hl_incident *in = &inc->incidents[k];
        in->id = hl__strdup(r->incidents.key[k]);
        in->nodes = malloc(groups * sizeof *in->nodes);
        if (!in->id || !in->nodes)
            return nomem(r);
        for (size_t j = i; j < end; j++) {
            if (j == i || r->keys[j].node != r->keys[j - 1].node)
                in->nodes[in->n_nodes++] =
                    (hl_incident_node){r->keys[j].node, j, 0};
            in->nodes[in->n_nodes - 1].n++;
        }
        i = end;
    }
    return HL_OK;
}

/* The rows in key order: KPIs, times, timestamps as written, lines. */
static hl_status build_rows(reader *r, hl_incidents *inc)
{
    hl_dataset *ds = r->ds;
    const size_t n = ds->n_rows, nf = ds->n_features;
    /* a file in order already (the usual export) keeps its matrix */
    int identity = 1;
    for (size_t i = 0; i < n && identity; i++)
        identity = r->keys[i].row == i;
    float *x = identity ? NULL : malloc((n * nf + 1) * sizeof *x);
    if (x)
        hl__advise_huge(x, (n * nf + 1) * sizeof *x);
    inc->time = malloc((n + 1) * sizeof *inc->time);
    inc->time_text = calloc(n + 1, sizeof *inc->time_text);
    inc->line = malloc((n + 1) * sizeof *inc->line);
    if ((!identity && !x) || !inc->time || !inc->time_text || !inc->line) {
        free(x);
        return nomem(r);
    }
    for (size_t i = 0; i < n; i++) {
        const row_key *k = &r->keys[i];
        if (!identity)
            memcpy(x + i * nf, ds->x + k->row * nf, nf * sizeof *x);
        inc->time[i] = k->time;
        inc->line[i] = r->lines[k->row];
        inc->time_text[i] = r->text[k->row * N_COLS + COL_TIME];
    }
    if (!identity) {
        free(ds->x);
        ds->x = x;
    }
    return HL_OK;
}

static hl_status build_node_ids(reader *r, hl_incidents *inc)
{
    inc->node_ids = calloc(r->nodes.n + 1, sizeof *inc->node_ids);
    if (!inc->node_ids)
        return nomem(r);
    for (size_t k = 0; k < r->nodes.n; k++) {
        if (!(inc->node_ids[k] = hl__strdup(r->nodes.key[k])))
            return nomem(r);
        inc->n_node_ids = k + 1;
    }
    return HL_OK;
}

static void reader_free(reader *r)
{
    hl_dataset_free(r->ds);
    free(r->lines);
    free(r->text);
    free(r->arena);
    free(r->keys);
    hl__idmap_free(&r->incidents);
    hl__idmap_free(&r->nodes);
    free(r->node_index);
}

static hl_status read_dataset(reader *r, const char *data, size_t len,
                              const hl_csv_options *opt)
{
    hl_csv_options o;
    if (opt)
        o = *opt;
    else
        hl_csv_options_init(&o);
    o.id_column = "";
    o.label_column = "";
    o.require_label = 0;
    o.text_columns = col_names;
    o.n_text_columns = N_COLS;
    hl_status rc = hl__dataset_parse_csv_chunked(data, len, r->name, &o, 0,
                                                 &r->ds, &r->lines, r->text_col,
                                                 &r->text, &r->arena, r->err);
    if (rc != HL_OK)
        return rc;
    r->keys = malloc((r->ds->n_rows + 1) * sizeof *r->keys);
    if (r->keys)
        hl__advise_huge(r->keys, (r->ds->n_rows + 1) * sizeof *r->keys);
    return r->keys ? HL_OK : nomem(r);
}

hl_status hl_incidents_parse(const char *data, size_t len, const char *name,
                             const hl_topology *t, const hl_csv_options *opt,
                             hl_incidents **out, hl_error *err)
{
    hl_error_clear(err);
    if (!out)
        return hl__fail(err, HL_ERR_INVALID, "incidents: out is NULL");
    *out = NULL;
    reader r = {0};
    r.name = name ? name : "<memory>";
    r.t = t;
    r.err = err;
    hl_incidents *inc = calloc(1, sizeof *inc);
    hl_status rc = inc ? read_dataset(&r, data, len, opt) : nomem(&r);
    if (rc == HL_OK)
        rc = key_rows(&r);
    if (rc == HL_OK)
        rc = sort_keys(&r);
    if (rc == HL_OK)
        rc = build_groups(&r, inc);
    if (rc == HL_OK)
        rc = build_node_ids(&r, inc);
    if (rc == HL_OK)
        rc = build_rows(&r, inc);
    if (rc == HL_OK) {
        inc->data = r.ds;
        inc->text = r.arena;
        r.ds = NULL;
        r.arena = NULL;
        *out = inc;
        inc = NULL;
    }
    reader_free(&r);
    hl_incidents_free(inc);
    return rc;
}

hl_status hl_incidents_read(const char *path, const hl_topology *t,
                            const hl_csv_options *opt, hl_incidents **out,
                            hl_error *err)
{
    hl_error_clear(err);
    if (!out)
        return hl__fail(err, HL_ERR_INVALID, "incidents: out is NULL");
    *out = NULL;
    if (!path)
        return hl__fail(err, HL_ERR_INVALID, "incidents: path is NULL");
    hl_csv_options defaults;
    hl_csv_options_init(&defaults);
    char *data = NULL;
    size_t len = 0;
    hl_status rc = hl__read_file(
        path, opt && opt->max_bytes ? opt->max_bytes : defaults.max_bytes,
        &data, &len, err);
    if (rc == HL_OK)
        rc = hl_incidents_parse(data, len, path, t, opt, out, err);
    free(data);
    return rc;
}

void hl_incidents_free(hl_incidents *inc)
{
    if (!inc)
        return;
    hl_dataset_free(inc->data);
    free(inc->time);
    free(inc->time_text);
    free(inc->text);
    free(inc->line);
    for (size_t k = 0; inc->incidents && k < inc->n_incidents; k++) {
        free(inc->incidents[k].id);
        free(inc->incidents[k].nodes);
    }
    free(inc->incidents);
    hl__free_strings(inc->node_ids, inc->n_node_ids);
    free(inc);
}
