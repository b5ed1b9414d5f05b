/* api.h - the REST API's handlers and what they share.
 *
 * Each api_*.c file serves one resource. Handlers parse and validate the
 * request, call a service (accounts, datasets, jobs, models, diagnoses),
 * and render the result; they never touch SQL or the engine's files. The
 * route table (routes.c) maps methods and paths to them; docs/api.md is
 * the contract they implement.
 */
#ifndef HEALER_HS_API_H
#define HEALER_HS_API_H

#include <jansson.h>

#include "base/app.h"
#include "domain/audit.h"
#include "healer/healer.h"
#include "http/http.h"

/* The route table (routes.c). */
extern const hs_route hs_api_routes[];
extern const size_t hs_api_n_routes;

/* The route table as data: [{"method", "pattern", "flags": ["AUTH",
 * "ADMIN", "NO_CSRF", "JSON", "MULTIPART", "OPT_AUTH", "OWNED"] or
 * ["PUBLIC"]}], in table order (NULL when out of memory). */
json_t *hs_api_routes_json(void);

/* The hooks the HTTP layer authenticates requests with (api_auth.c; see
 * hs_http_auth): the session cookie's name, its check, the CSRF check. */
extern const char *const hs_api_session_cookie;
hs_status hs_api_authenticate(hs_app *app, const char *cookie, hs_req *req,
                              hs_error *err);
int hs_api_csrf_valid(hs_app *app, const hs_req *req, const char *presented);

/* ---- shared helpers (api_common.c) ---- */

/* Who acts in an authenticated request, for the audit log: its user and
 * client address. */
hs_actor hs_api_actor(const hs_req *req);

/* The JSON object in the body, or NULL after answering 400 (malformed, not
 * an object, NUL bytes) - the caller just returns. An empty body is {}. */
json_t *hs_api_body(const hs_req *req, hs_resp *resp);

/* Optional typed members of a body. Each returns 0 when absent (leaving
 * *out unchanged) or valid, -1 after answering 400 naming the field. */
int hs_api_opt_string(const json_t *body, const char *key, const char **out,
                      hs_resp *resp);
int hs_api_opt_bool(const json_t *body, const char *key, int *out,
                    hs_resp *resp);
int hs_api_opt_id(const json_t *body, const char *key, hs_id *out,
                  hs_resp *resp);
/* A required string: -1 after answering 400 when absent or not a string. */
int hs_api_req_string(const json_t *body, const char *key, const char **out,
                      hs_resp *resp);

/* A whole number in [min, max] from the query (?name=), or def when
 * absent; -1 after answering 400 naming it. */
int hs_api_query_size(const hs_req *req, hs_resp *resp, const char *name,
                      size_t def, size_t min, size_t max, size_t *out);

/* The latest time a query may name (year 9999), so sums stay far from
 * overflow. */
#define HS_API_TIME_MAX 253402300799ULL

/* A time from the query (?name=): unix seconds or an ISO 8601 UTC date or
 * time ("2026-01-31", "2026-01-31T08:00:00Z"); *out is unchanged when
 * absent. -1 after answering 400 naming it. */
int hs_api_query_time(const hs_req *req, hs_resp *resp, const char *name,
                      int64_t *out);

/* Answers 200 text/csv, an attachment called `filename`: a header row of
 * `columns` (NULL-terminated), then one row per object of the JSON array
 * `rows` with those members (absent or null: empty). Fields are quoted as
 * RFC 4180 says, and a text starting like a spreadsheet formula (= + - @)
 * gets a leading ' so that opening the export runs nothing. */
void hs_api_reply_csv(hs_resp *resp, const json_t *rows,
                      const char *const *columns, const char *filename);

/* The "email" member: a string, or null / absent for none (*out = "").
 * The req_ form answers 400 when it is absent. The address's rules are
 * the accounts service's. */
int hs_api_opt_email(const json_t *body, const char **out, hs_resp *resp);
int hs_api_req_email(const json_t *body, const char **out, hs_resp *resp);

/* ?offset= and ?limit= (defaults 0 and 100, limit 1..1000); -1 after 400. */
int hs_api_paging(const hs_req *req, hs_resp *resp, size_t *offset,
                  size_t *limit);

/* {"items": page, "total", "offset", "limit"}: one page of a list, as
 * every list answer and a diagnosis's results show it; consumes page. */
json_t *hs_api_page_json(json_t *page, size_t total, size_t offset,
                         size_t limit);

/* Replies 200 {"items": items[offset..offset+limit), "total", "offset",
 * "limit"}; consumes items. */
void hs_api_reply_page(hs_resp *resp, json_t *items, size_t offset,
                       size_t limit);
/* The same with the paging read from the request (400 on bad values). */
void hs_api_reply_list(const hs_req *req, hs_resp *resp, json_t *items);

/* Answers a service's list call: its error when st is not HS_OK, else
 * the page of n records (elem_size bytes each) rendered by `render` as of
 * `now` (views such as "locked" or a job's elapsed time depend on it).
 * The caller still frees the records. */
typedef json_t *(*hs_api_render)(const void *record, int64_t now);
void hs_api_reply_records(const hs_req *req, hs_resp *resp, hs_status st,
                          const hs_error *err, const void *items, size_t n,
                          size_t elem_size, hs_api_render render, int64_t now);

/* 422 invalid_csv with where the engine found the problem (file, line,
 * column, column_index). */
void hs_api_reply_csv_error(hs_resp *resp, const hl_error *e);
/* The same for any file the engine refused, with the error code given
 * ("invalid_topology"). */
void hs_api_reply_file_error(hs_resp *resp, const char *code,
                             const hl_error *e);

/* Content-Disposition: attachment with a sanitised file name. */
void hs_api_attachment(hs_resp *resp, const char *name);

/* Streams blob `key` as an attachment called `filename` (200), or answers
 * the blob store's error. */
void hs_api_reply_blob(hs_app *app, hs_resp *resp, const char *key,
                       const char *content_type, const char *filename);

/* 1 when the query asks for the trash too (include_deleted, any value
 * but "0"): the lists of datasets, models and diagnoses. */
int hs_api_include_deleted(const hs_req *req);

/* A time, or null for 0. */
json_t *hs_api_time(int64_t t);
/* Parsed JSON text (a stored field), or null when absent or unreadable. */
json_t *hs_api_stored_json(const char *text);

/* Resource views. */
json_t *hs_api_user_json(const hs_user *u, int64_t now);
json_t *hs_api_dataset_json(const hs_dataset_rec *d, int with_profile);
/* A training's attempts, by number: [{"number", "step", "algo", "outcome",
 * "reason" (null when it succeeded), "seconds" (null when unknown),
 * "params", "error" (the reason of one that did not succeed, else null)}],
 * the shape of the engine's hs_json_train_attempt. */
json_t *hs_api_attempts_json(const hs_job_attempt *items, size_t n);
/* A job with its attempts (items[0..n), n may be 0). */
json_t *hs_api_job_json(const hs_job_rec *j, const hs_job_attempt *attempts,
                        size_t n_attempts, int64_t now);
json_t *hs_api_model_json(const hs_model_rec *m, int with_summary);
json_t *hs_api_diagnosis_json(const hs_diagnosis_rec *d);
json_t *hs_api_topology_json(const hs_topology_rec *t);
json_t *hs_api_analysis_json(const hs_analysis_rec *a);
/* An audit row as GET /api/v1/audit shows it (also `healer audit --json`). */
json_t *hs_api_audit_json(const hs_audit_rec *a);
/* The diagnosis of the path's {id} under the access rule into *rec
 * (api_diagnoses.c); 0 after answering with the error. */
int hs_api_load_diagnosis(hs_app *app, hs_req *req, hs_resp *resp,
                          hs_diagnosis_rec *rec);

/* ---- handlers ---- */
void hs_api_audit_list(hs_app *, hs_req *, hs_resp *);
void hs_api_security_report(hs_app *, hs_req *, hs_resp *);
void hs_api_health(hs_app *, hs_req *, hs_resp *);
void hs_api_metrics(hs_app *, hs_req *, hs_resp *);
void hs_api_algorithms(hs_app *, hs_req *, hs_resp *);

void hs_api_setup_get(hs_app *, hs_req *, hs_resp *);
void hs_api_setup_post(hs_app *, hs_req *, hs_resp *);
void hs_api_login(hs_app *, hs_req *, hs_resp *);
void hs_api_logout(hs_app *, hs_req *, hs_resp *);
void hs_api_me(hs_app *, hs_req *, hs_resp *);
void hs_api_prefs_get(hs_app *, hs_req *, hs_resp *);
void hs_api_prefs_put(hs_app *, hs_req *, hs_resp *);
void hs_api_unlock(hs_app *, hs_req *, hs_resp *);
void hs_api_me_password(hs_app *, hs_req *, hs_resp *);
void hs_api_me_email(hs_app *, hs_req *, hs_resp *);

void hs_api_users_list(hs_app *, hs_req *, hs_resp *);
void hs_api_users_create(hs_app *, hs_req *, hs_resp *);
void hs_api_user_disable(hs_app *, hs_req *, hs_resp *);
void hs_api_user_enable(hs_app *, hs_req *, hs_resp *);
void hs_api_user_unlock(hs_app *, hs_req *, hs_resp *);
void hs_api_user_password(hs_app *, hs_req *, hs_resp *);
void hs_api_user_email(hs_app *, hs_req *, hs_resp *);
void hs_api_notifications_list(hs_app *, hs_req *, hs_resp *);
void hs_api_notification_read(hs_app *, hs_req *, hs_resp *);

void hs_api_datasets_upload(hs_app *, hs_req *, hs_resp *);
void hs_api_datasets_list(hs_app *, hs_req *, hs_resp *);
void hs_api_dataset_get(hs_app *, hs_req *, hs_resp *);
void hs_api_dataset_download(hs_app *, hs_req *, hs_resp *);
void hs_api_dataset_delete(hs_app *, hs_req *, hs_resp *);
void hs_api_dataset_restore(hs_app *, hs_req *, hs_resp *);
void hs_api_dataset_retry_ingest(hs_app *, hs_req *, hs_resp *);
void hs_api_model_restore(hs_app *, hs_req *, hs_resp *);
void hs_api_diagnosis_restore(hs_app *, hs_req *, hs_resp *);

void hs_api_jobs_create(hs_app *, hs_req *, hs_resp *);
void hs_api_jobs_list(hs_app *, hs_req *, hs_resp *);
void hs_api_job_get(hs_app *, hs_req *, hs_resp *);
void hs_api_job_cancel(hs_app *, hs_req *, hs_resp *);

void hs_api_models_list(hs_app *, hs_req *, hs_resp *);
void hs_api_model_get(hs_app *, hs_req *, hs_resp *);
void hs_api_model_download(hs_app *, hs_req *, hs_resp *);
void hs_api_model_report(hs_app *, hs_req *, hs_resp *);
void hs_api_model_delete(hs_app *, hs_req *, hs_resp *);
void hs_api_model_class_names_put(hs_app *, hs_req *, hs_resp *);
void hs_api_models_leaderboard(hs_app *, hs_req *, hs_resp *);

void hs_api_diagnoses_create(hs_app *, hs_req *, hs_resp *);
void hs_api_diagnoses_list(hs_app *, hs_req *, hs_resp *);
void hs_api_diagnosis_get(hs_app *, hs_req *, hs_resp *);
void hs_api_diagnosis_download(hs_app *, hs_req *, hs_resp *);
void hs_api_diagnosis_projection(hs_app *, hs_req *, hs_resp *);
void hs_api_diagnosis_sample(hs_app *, hs_req *, hs_resp *);
void hs_api_diagnosis_delete(hs_app *, hs_req *, hs_resp *);
void hs_api_diagnosis_suggestions(hs_app *, hs_req *, hs_resp *);
void hs_api_diagnosis_labels_get(hs_app *, hs_req *, hs_resp *);
void hs_api_diagnosis_labels_put(hs_app *, hs_req *, hs_resp *);

void hs_api_topologies_upload(hs_app *, hs_req *, hs_resp *);
void hs_api_topologies_list(hs_app *, hs_req *, hs_resp *);
void hs_api_topology_get(hs_app *, hs_req *, hs_resp *);
void hs_api_topology_download(hs_app *, hs_req *, hs_resp *);
void hs_api_topology_delete(hs_app *, hs_req *, hs_resp *);
void hs_api_topology_restore(hs_app *, hs_req *, hs_resp *);

void hs_api_analyses_list(hs_app *, hs_req *, hs_resp *);
void hs_api_analysis_get(hs_app *, hs_req *, hs_resp *);
void hs_api_analysis_incidents(hs_app *, hs_req *, hs_resp *);
void hs_api_analysis_incident(hs_app *, hs_req *, hs_resp *);
void hs_api_analysis_download(hs_app *, hs_req *, hs_resp *);
void hs_api_analysis_delete(hs_app *, hs_req *, hs_resp *);
void hs_api_analysis_restore(hs_app *, hs_req *, hs_resp *);

#endif
