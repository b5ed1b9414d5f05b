/* routes.c - the REST API's route table: every method and path the
 * service answers, with what each needs (session, admin, body type, an
 * owned record), and its export as data (hs_api_routes_json, printed by
 * `healer routes`), which the authorization matrix test
 * (tests/api/test_authz_matrix.py) derives its expectations from.
 * docs/api.md documents the same list; keep them in step. */
#include "http/api.h"

#define AUTH HS_ROUTE_AUTH
#define OWNED (HS_ROUTE_AUTH | HS_ROUTE_OWNED)
#define ADMIN (HS_ROUTE_AUTH | HS_ROUTE_ADMIN)
#define JSON HS_ROUTE_JSON
#define FORM HS_ROUTE_MULTIPART

const hs_route hs_api_routes[] = {
    {"GET", "/api/v1/health", hs_api_health, HS_ROUTE_PUBLIC},
    {"GET", "/metrics", hs_api_metrics, HS_ROUTE_PUBLIC},
    {"GET", "/api/v1/algorithms", hs_api_algorithms, HS_ROUTE_PUBLIC},

    {"GET", "/api/v1/setup", hs_api_setup_get, HS_ROUTE_PUBLIC},
    {"POST", "/api/v1/setup", hs_api_setup_post, HS_ROUTE_NO_CSRF | JSON},
    {"POST", "/api/v1/auth/login", hs_api_login, HS_ROUTE_NO_CSRF | JSON},
    {"POST", "/api/v1/auth/logout", hs_api_logout, AUTH},
    {"GET", "/api/v1/auth/me", hs_api_me, AUTH},
    {"GET", "/api/v1/auth/me/preferences", hs_api_prefs_get, AUTH},
    {"PUT", "/api/v1/auth/me/preferences", hs_api_prefs_put, AUTH | JSON},
    {"POST", "/api/v1/auth/me/password", hs_api_me_password, AUTH | JSON},
    {"PUT", "/api/v1/auth/me/email", hs_api_me_email, AUTH | JSON},
    {"POST", "/api/v1/auth/unlock", hs_api_unlock, HS_ROUTE_NO_CSRF | JSON},

    {"GET", "/api/v1/users", hs_api_users_list, ADMIN},
    {"POST", "/api/v1/users", hs_api_users_create, ADMIN | JSON},
    {"POST", "/api/v1/users/{id}/disable", hs_api_user_disable, ADMIN},
    {"POST", "/api/v1/users/{id}/enable", hs_api_user_enable, ADMIN},
    {"POST", "/api/v1/users/{id}/unlock", hs_api_user_unlock, ADMIN},
    {"POST", "/api/v1/users/{id}/password", hs_api_user_password, ADMIN | JSON},
    {"PUT", "/api/v1/users/{id}/email", hs_api_user_email, ADMIN | JSON},
    {"GET", "/api/v1/notifications", hs_api_notifications_list, ADMIN},
    {"POST", "/api/v1/notifications/{id}/read", hs_api_notification_read, ADMIN},
    {"GET", "/api/v1/audit", hs_api_audit_list, ADMIN},
    {"GET", "/api/v1/security/report", hs_api_security_report, ADMIN},

    {"POST", "/api/v1/datasets", hs_api_datasets_upload, AUTH | FORM},
    {"GET", "/api/v1/datasets", hs_api_datasets_list, AUTH},
    {"GET", "/api/v1/datasets/{id}", hs_api_dataset_get, OWNED},
    {"DELETE", "/api/v1/datasets/{id}", hs_api_dataset_delete, OWNED},
    {"GET", "/api/v1/datasets/{id}/download", hs_api_dataset_download, OWNED},
    {"POST", "/api/v1/datasets/{id}/restore", hs_api_dataset_restore, OWNED},
    {"POST", "/api/v1/datasets/{id}/ingest", hs_api_dataset_retry_ingest,
     OWNED},

    {"POST", "/api/v1/jobs", hs_api_jobs_create, AUTH | JSON},
    {"GET", "/api/v1/jobs", hs_api_jobs_list, AUTH},
    {"GET", "/api/v1/jobs/{id}", hs_api_job_get, OWNED},
    {"POST", "/api/v1/jobs/{id}/cancel", hs_api_job_cancel, OWNED},

    {"GET", "/api/v1/models", hs_api_models_list, AUTH},
    {"POST", "/api/v1/models/leaderboard", hs_api_models_leaderboard,
     AUTH | JSON},
    {"GET", "/api/v1/models/{id}", hs_api_model_get, OWNED},
    {"DELETE", "/api/v1/models/{id}", hs_api_model_delete, OWNED},
    {"GET", "/api/v1/models/{id}/download", hs_api_model_download, OWNED},
    {"GET", "/api/v1/models/{id}/report", hs_api_model_report, OWNED},
    {"PUT", "/api/v1/models/{id}/class-names", hs_api_model_class_names_put,
     OWNED | JSON},
    {"POST", "/api/v1/models/{id}/restore", hs_api_model_restore, OWNED},

    {"POST", "/api/v1/diagnoses", hs_api_diagnoses_create, AUTH | JSON | FORM},
    {"GET", "/api/v1/diagnoses", hs_api_diagnoses_list, AUTH},
    {"GET", "/api/v1/diagnoses/{id}", hs_api_diagnosis_get, OWNED},
    {"DELETE", "/api/v1/diagnoses/{id}", hs_api_diagnosis_delete, OWNED},
    {"POST", "/api/v1/diagnoses/{id}/restore", hs_api_diagnosis_restore, OWNED},
    {"GET", "/api/v1/diagnoses/{id}/download", hs_api_diagnosis_download, OWNED},
    {"GET", "/api/v1/diagnoses/{id}/projection", hs_api_diagnosis_projection,
     OWNED},
    {"GET", "/api/v1/diagnoses/{id}/rows/{id}", hs_api_diagnosis_sample, OWNED},
    {"GET", "/api/v1/diagnoses/{id}/suggestions", hs_api_diagnosis_suggestions,
     OWNED},
    {"GET", "/api/v1/diagnoses/{id}/labels", hs_api_diagnosis_labels_get, OWNED},
    {"PUT", "/api/v1/diagnoses/{id}/labels", hs_api_diagnosis_labels_put,
     OWNED | JSON},

    {"POST", "/api/v1/topologies", hs_api_topologies_upload, AUTH | FORM},
    {"GET", "/api/v1/topologies", hs_api_topologies_list, AUTH},
    {"GET", "/api/v1/topologies/{id}", hs_api_topology_get, OWNED},
    {"DELETE", "/api/v1/topologies/{id}", hs_api_topology_delete, OWNED},
    {"GET", "/api/v1/topologies/{id}/download", hs_api_topology_download,
     OWNED},
    {"POST", "/api/v1/topologies/{id}/restore", hs_api_topology_restore, OWNED},

    {"GET", "/api/v1/analyses", hs_api_analyses_list, AUTH},
    {"GET", "/api/v1/analyses/{id}", hs_api_analysis_get, OWNED},
    {"DELETE", "/api/v1/analyses/{id}", hs_api_analysis_delete, OWNED},
    {"POST", "/api/v1/analyses/{id}/restore", hs_api_analysis_restore, OWNED},
    {"GET", "/api/v1/analyses/{id}/incidents", hs_api_analysis_incidents,
     OWNED},
    {"GET", "/api/v1/analyses/{id}/incidents/{ix}", hs_api_analysis_incident,
     OWNED},
    {"GET", "/api/v1/analyses/{id}/download", hs_api_analysis_download, OWNED},
};

const size_t hs_api_n_routes = sizeof hs_api_routes / sizeof hs_api_routes[0];

/* The flags' names, in bit order, as `healer routes` prints them. */
static const char *const FLAG_NAMES[] = {"AUTH", "ADMIN",     "NO_CSRF",
                                         "JSON", "MULTIPART", "OPT_AUTH",
                                         "OWNED"};
_Static_assert(sizeof FLAG_NAMES / sizeof *FLAG_NAMES == 7 &&
                   HS_ROUTE_OWNED == 1 << 6,
               "a name for every route flag, in bit order");

json_t *hs_api_routes_json(void)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < hs_api_n_routes; i++) {
        const hs_route *r = &hs_api_routes[i];
        json_t *flags = json_array();
        for (size_t b = 0; flags && b < sizeof FLAG_NAMES / sizeof *FLAG_NAMES;
             b++)
            if (r->flags & (1 << b))
                json_array_append_new(flags, json_string(FLAG_NAMES[b]));
        if (flags && json_array_size(flags) == 0)
            json_array_append_new(flags, json_string("PUBLIC"));
        json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "method",
                                              r->method, "pattern", r->pattern,
                                              "flags", flags));
    }
    return list;
}
