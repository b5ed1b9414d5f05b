/* rca_write.c - a root-cause analysis written out: the ranks CSV and the
 * JSON of `healer rca --json` (the web platform serves the same bytes as
 * its downloads, so there is one writer).
 *
 * The JSON is written by hand rather than built as a jansson tree: a
 * result of 1,000 incidents has millions of values, and a tree would hold
 * them all a second time. Strings are escaped here (ids are UTF-8 already,
 * checked by the readers); numbers are printed in the "C" locale with the
 * contract's precision (scores, factors, confidence and anomaly 4
 * decimals, z 2, onset_seconds as an integer when it is one, else 3
 * decimals); a missing value is null. Keys come in the contract's order.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rca_internal.h"

static void put_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p == '\r')
            fputs("\\r", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void put_json_string_or_null(FILE *f, const char *s)
{
    if (s)
        put_json_string(f, s);
    else
        fputs("null", f);
}

/* A number with `decimals` decimals, or null when it is not finite. */
static void put_number(FILE *f, double v, int decimals)
{
    if (isfinite(v))
        fprintf(f, "%.*f", decimals, v);
    else
        fputs("null", f);
}

static void put_seconds(FILE *f, double v)
{
    put_number(f, v, isfinite(v) && v == floor(v) ? 0 : 3);
}

static const char *fault_label(const hl_model *m, int32_t fault)
{
    return fault >= 0 ? hl_model_class_name(m, (size_t)fault) : NULL;
}

static hl_status finish(FILE *f, hl__locale_scope scope, hl_error *err)
{
    hl__c_locale_leave(scope);
    if (ferror(f))
        return hl__fail(err, HL_ERR_IO, "cannot write the result");
    return HL_OK;
}

static hl_status check(const hl_rca_result *r, const hl_topology *t,
                       const hl_model *m, FILE *f, hl_error *err)
{
    hl_error_clear(err);
    if (!f || !r || !t || !m)
        return hl__fail(err, HL_ERR_INVALID, "rca: NULL argument");
    return HL_OK;
}

/* ---- CSV --------------------------------------------------------------- */

/* The path's ids joined by '>' (malloc'ed), or NULL when out of memory. */
static char *path_text(const hl_rca_cause *c, const hl_topology *t)
{
    size_t len = 1;
    for (size_t k = 0; k < c->path_len; k++)
        len += strlen(t->nodes[c->path[k]].id) + 1;
    char *s = malloc(len), *at = s;
    for (size_t k = 0; s && k < c->path_len; k++) {
        size_t n = strlen(t->nodes[c->path[k]].id);
        if (k)
            *at++ = '>';
        memcpy(at, t->nodes[c->path[k]].id, n);
        at += n;
    }
    if (s)
        *at = '\0';
    return s;
}

hl_status hl_rca_write_csv(FILE *f, const hl_rca_result *r,
                           const hl_topology *t, const hl_model *m,
                           hl_error *err)
{
    hl_status rc = check(r, t, m, f, err);
    if (rc != HL_OK)
        return rc;
    hl__locale_scope scope = hl__c_locale_enter();
    fputs("incident_id,rank,node,fault,score,onset,path\n", f);
    for (size_t i = 0; i < r->n_incidents; i++) {
        const hl_rca_incident *in = &r->incidents[i];
        for (size_t k = 0; k < in->n_causes; k++) {
            const hl_rca_cause *c = &in->causes[k];
            hl__csv_put_text(f, in->id);
            fprintf(f, ",%zu,", k + 1);
            hl__csv_put_text(f, t->nodes[c->node].id);
            fputc(',', f);
            hl__csv_put_text(f, fault_label(m, c->fault));
            fprintf(f, ",%.4f,", c->score);
            hl__csv_put_text(f, c->onset_text);
            fputc(',', f);
            char *path = path_text(c, t);
            if (!path) {
                hl__c_locale_leave(scope);
                return hl__fail(err, HL_ERR_NOMEM, "out of memory");
            }
            hl__csv_put_text(f, path);
            free(path);
            fputc('\n', f);
        }
    }
    return finish(f, scope, err);
}

/* ---- JSON -------------------------------------------------------------- */

static void put_node_ids(FILE *f, const hl_topology *t, const size_t *v,
                         size_t n)
{
    fputc('[', f);
    for (size_t k = 0; k < n; k++) {
        if (k)
            fputs(", ", f);
        put_json_string(f, t->nodes[v[k]].id);
    }
    fputc(']', f);
}

static void put_tree(FILE *f, const hl_topology *t, const hl_rca_cause *c)
{
    fputc('[', f);
    for (size_t k = 0; k < c->tree_len; k++) {
        const hl_rca_step *s = &c->tree[k];
        fputs(k ? ", {\"node\": " : "{\"node\": ", f);
        put_json_string(f, t->nodes[s->node].id);
        fputs(", \"parent\": ", f);
        put_json_string_or_null(f,
                                s->parent >= 0 ? t->nodes[s->parent].id : NULL);
        fputc('}', f);
    }
    fputc(']', f);
}

static void put_cause(FILE *f, const hl_topology *t, const hl_model *m,
                      const hl_rca_cause *c, size_t rank)
{
    fprintf(f, "{\"rank\": %zu, \"node\": ", rank);
    put_json_string(f, t->nodes[c->node].id);
    fprintf(f,
            ", \"observed\": %s, \"fault\": ", c->observed ? "true" : "false");
    put_json_string_or_null(f, fault_label(m, c->fault));
    fputs(", \"confidence\": ", f);
    put_number(f, c->confidence, 4);
    fputs(", \"score\": ", f);
    put_number(f, c->score, 4);
    fputs(", \"evidence\": ", f);
    put_number(f, c->evidence, 4);
    fputs(", \"explained\": ", f);
    put_number(f, c->explained, 4);
    fputs(", \"timing\": ", f);
    put_number(f, c->timing, 4);
    fputs(", \"onset\": ", f);
    put_json_string_or_null(f, c->onset_text);
    fputs(", \"onset_seconds\": ", f);
    put_seconds(f, c->onset);
    fputs(", \"path\": ", f);
    put_node_ids(f, t, c->path, c->path_len);
    fputs(", \"tree\": ", f);
    put_tree(f, t, c);
    fputc('}', f);
}

static void put_kpis(FILE *f, const hl_model *m, const hl_rca_node *n)
{
    fputc('[', f);
    for (size_t k = 0; k < n->n_abnormal_kpis; k++) {
        fputs(k ? ", {\"kpi\": " : "{\"kpi\": ", f);
        put_json_string(f, hl_model_feature_name(m, n->abnormal_kpis[k].kpi));
        fputs(", \"z\": ", f);
        put_number(f, n->abnormal_kpis[k].z, 2);
        fputc('}', f);
    }
    fputc(']', f);
}

static void put_node(FILE *f, const hl_topology *t, const hl_model *m,
                     const hl_rca_node *n)
{
    fputs("{\"node\": ", f);
    put_json_string(f, t->nodes[n->node].id);
    fputs(", \"kind\": ", f);
    put_json_string_or_null(f, t->nodes[n->node].kind);
    fprintf(f, ", \"rows\": %zu, \"anomaly\": ", n->rows);
    put_number(f, n->anomaly, 4);
    fprintf(f,
            ", \"abnormal\": %s, \"fault\": ", n->abnormal ? "true" : "false");
    put_json_string_or_null(f, fault_label(m, n->fault));
    fputs(", \"confidence\": ", f);
    put_number(f, n->confidence, 4);
    fputs(", \"onset\": ", f);
    put_json_string_or_null(f, n->onset_text);
    fputs(", \"onset_seconds\": ", f);
    put_seconds(f, n->onset);
    fputs(", \"abnormal_kpis\": ", f);
    put_kpis(f, m, n);
    fputc('}', f);
}

static void put_incident(FILE *f, const hl_rca_result *r, size_t i,
                         const hl_topology *t, const hl_model *m)
{
    const hl_rca_incident *in = &r->incidents[i];
    fputs("{\"incident_id\": ", f);
    put_json_string(f, in->id);
    fprintf(f, ", \"observed\": %zu, \"abnormal\": %zu, \"ranks\": [",
            in->n_nodes, in->n_abnormal);
    for (size_t k = 0; k < in->n_causes; k++) {
        if (k)
            fputs(", ", f);
        put_cause(f, t, m, &in->causes[k], k + 1);
    }
    fputs("], \"nodes\": [", f);
    for (size_t k = 0; k < in->n_nodes; k++) {
        if (k)
            fputs(", ", f);
        put_node(f, t, m, &in->nodes[k]);
    }
    fputs("]}", f);
}

hl_status hl_rca_write_incident_json(FILE *f, const hl_rca_result *r,
                                     size_t incident, const hl_topology *t,
                                     const hl_model *m, hl_error *err)
{
    hl_status rc = check(r, t, m, f, err);
    if (rc != HL_OK)
        return rc;
    if (incident >= r->n_incidents)
        return hl__fail(err, HL_ERR_INVALID,
                        "incident %zu out of range (the result has %zu)",
                        incident, r->n_incidents);
    hl__locale_scope scope = hl__c_locale_enter();
    put_incident(f, r, incident, t, m);
    return finish(f, scope, err);
}

hl_status hl_rca_write_json(FILE *f, const hl_rca_result *r,
                            const hl_topology *t, const hl_model *m,
                            hl_error *err)
{
    hl_status rc = check(r, t, m, f, err);
    if (rc != HL_OK)
        return rc;
    hl__locale_scope scope = hl__c_locale_enter();
    fputs("{\"normal\": ", f);
    put_json_string(f, hl_model_class_name(m, (size_t)r->normal_class));
    fprintf(f, ", \"top\": %zu, \"incidents\": [", r->top);
    for (size_t i = 0; i < r->n_incidents; i++) {
        fputs(i ? ",\n" : "\n", f);
        put_incident(f, r, i, t, m);
    }
    fputs("]}\n", f);
    return finish(f, scope, err);
}
