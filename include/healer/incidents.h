/* healer/incidents.h - KPI samples of several nodes during incidents.
 *
 * The input of root-cause analysis: a CSV with the header
 *   incident_id,node,timestamp,<KPI columns>
 * (the three first columns by name, in any position; every other column
 * a numeric KPI, missing cells allowed as in every CSV). `node` must be a
 * node of the topology; `timestamp` is integer seconds (Unix time, or any
 * common origin) or ISO 8601 (2026-12-07T04:34:18Z, fractional seconds,
 * a +hh:mm / -hh:mm offset, a space instead of T, no zone = UTC). A node
 * may have one or more rows per incident (a short window of samples);
 * topology nodes without rows in an incident are unobserved in it, not
 * normal. Rows may come in any order.
 *
 * Read by the one CSV tokenizer (hl_dataset_read_csv with text columns),
 * so limits, quoting, BOMs and error locations are those of datasets.
 *
 * Ownership: the caller's, released with hl_incidents_free; immutable,
 * readable from several threads.
 */
#ifndef HEALER_INCIDENTS_H
#define HEALER_INCIDENTS_H

#include <stddef.h>
#include <stdint.h>

#include "healer/dataset.h"
#include "healer/error.h"
#include "healer/topology.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The header names of the three columns that are not KPIs. */
#define HL_INCIDENT_ID_COLUMN "incident_id"
#define HL_INCIDENT_NODE_COLUMN "node"
#define HL_INCIDENT_TIME_COLUMN "timestamp"

/* The longest incident id, in bytes. */
#define HL_INCIDENT_MAX_ID 255

/* One node's rows in one incident: rows [first, first + n) of the
 * incidents' data, in time order (ties: file order). */
typedef struct hl_incident_node {
    size_t node;  /* topology node index (read without a topology: an
                     index into hl_incidents.node_ids) */
    size_t first; /* first row */
    size_t n;     /* >= 1 */
} hl_incident_node;

typedef struct hl_incident {
    char *id;                 /* as written */
    size_t n_nodes;           /* observed nodes */
    hl_incident_node *nodes;  /* ascending node index */
} hl_incident;

typedef struct hl_incidents {
    /* The KPI rows, regrouped: by incident (in order of first appearance
     * in the file), then node, then time. Its features are the file's KPI
     * columns; no labels; sample_ids NULL. */
    hl_dataset *data;
    double *time;      /* per row: seconds since 1970-01-01T00:00:00Z (or
                          the file's own origin for integer seconds) */
    char **time_text;  /* per row: the timestamp as written (into text) */
    size_t *line;      /* per row: its physical line in the file */
    size_t n_incidents;
    hl_incident *incidents;
    size_t n_node_ids;  /* the distinct node ids of the file, in order of */
    char **node_ids;    /* first appearance */
    char *text;         /* one block holding the strings of time_text (the
                           reader copies the text cells of millions of rows
                           into one block, not one allocation each) */
} hl_incidents;

/* Parses an incident timestamp (see above) into seconds; 0 on success,
 * -1 when text is neither form. Thread-safe. */
int hl_incident_parse_time(const char *text, double *seconds);

/* Reads incidents from data[0..len) (`name` in messages) against topology
 * t, or without one when t is NULL (a platform checking an upload before
 * it knows the topology: nodes are then only named). opt may be NULL (dataset defaults; its id and label columns are not
 * used). Errors: HL_ERR_PARSE as for datasets, and for a bad timestamp
 * (line, column `timestamp`, the value); HL_ERR_DATA for a missing
 * incident_id/node/timestamp column, no KPI column, no row, an empty or
 * over-long incident id, an incident or node id holding a control
 * character (the node ids' text rule; the message shows it as '?'), a
 * node not in the topology (line and value);
 * HL_ERR_LIMIT, HL_ERR_NOMEM. */
hl_status hl_incidents_parse(const char *data, size_t len, const char *name,
                             const hl_topology *t, const hl_csv_options *opt,
                             hl_incidents **out, hl_error *err);

/* hl_incidents_parse of the file at path (HL_ERR_IO when unreadable). */
hl_status hl_incidents_read(const char *path, const hl_topology *t,
                            const hl_csv_options *opt, hl_incidents **out,
                            hl_error *err);

/* 1 when a CSV header line (the first line of data[0..len)) names the
 * three incident columns: how a platform tells an incident file from a
 * file of samples before reading it whole. */
int hl_incidents_header_matches(const char *data, size_t len);

void hl_incidents_free(hl_incidents *inc);

#ifdef __cplusplus
}
#endif
#endif
