/* routes.c - the REST API's route table: every method and path the
 * service answers, with what each needs (session, admin, body type).
 * docs/api.md documents the same list; keep them in step. */
#include "http/api.h"

#define AUTH HS_ROUTE_AUTH
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

    {"POST", "/api/v1/datasets", hs_api_datasets_upload, AUTH | FORM},
    {"GET", "/api/v1/datasets", hs_api_datasets_list, AUTH},
    {"GET", "/api/v1/datasets/{id}", hs_api_dataset_get, AUTH},
    {"DELETE", "/api/v1/datasets/{id}", hs_api_dataset_delete, AUTH},
    {"GET", "/api/v1/datasets/{id}/download", hs_api_dataset_download, AUTH},
    {"POST", "/api/v1/datasets/{id}/restore", hs_api_dataset_restore, AUTH},

    {"POST", "/api/v1/jobs", hs_api_jobs_create, AUTH | JSON},
    {"GET", "/api/v1/jobs", hs_api_jobs_list, AUTH},
    {"GET", "/api/v1/jobs/{id}", hs_api_job_get, AUTH},
    {"POST", "/api/v1/jobs/{id}/cancel", hs_api_job_cancel, AUTH},

    {"GET", "/api/v1/models", hs_api_models_list, AUTH},
    {"POST", "/api/v1/models/leaderboard", hs_api_models_leaderboard,
     AUTH | JSON},
    {"GET", "/api/v1/models/{id}", hs_api_model_get, AUTH},
    {"DELETE", "/api/v1/models/{id}", hs_api_model_delete, AUTH},
    {"GET", "/api/v1/models/{id}/download", hs_api_model_download, AUTH},
    {"GET", "/api/v1/models/{id}/report", hs_api_model_report, AUTH},
    {"PUT", "/api/v1/models/{id}/class-names", hs_api_model_class_names_put,
     AUTH | JSON},
    {"POST", "/api/v1/models/{id}/restore", hs_api_model_restore, AUTH},

    {"POST", "/api/v1/diagnoses", hs_api_diagnoses_create, AUTH | JSON | FORM},
    {"GET", "/api/v1/diagnoses", hs_api_diagnoses_list, AUTH},
    {"GET", "/api/v1/diagnoses/{id}", hs_api_diagnosis_get, AUTH},
    {"DELETE", "/api/v1/diagnoses/{id}", hs_api_diagnosis_delete, AUTH},
    {"POST", "/api/v1/diagnoses/{id}/restore", hs_api_diagnosis_restore, AUTH},
    {"GET", "/api/v1/diagnoses/{id}/download", hs_api_diagnosis_download, AUTH},
    {"GET", "/api/v1/diagnoses/{id}/projection", hs_api_diagnosis_projection,
     AUTH},
    {"GET", "/api/v1/diagnoses/{id}/rows/{id}", hs_api_diagnosis_sample, AUTH},
    {"GET", "/api/v1/diagnoses/{id}/suggestions", hs_api_diagnosis_suggestions,
     AUTH},
    {"GET", "/api/v1/diagnoses/{id}/labels", hs_api_diagnosis_labels_get, AUTH},
    {"PUT", "/api/v1/diagnoses/{id}/labels", hs_api_diagnosis_labels_put,
     AUTH | JSON},

    {"POST", "/api/v1/topologies", hs_api_topologies_upload, AUTH | FORM},
    {"GET", "/api/v1/topologies", hs_api_topologies_list, AUTH},
    {"GET", "/api/v1/topologies/{id}", hs_api_topology_get, AUTH},
    {"DELETE", "/api/v1/topologies/{id}", hs_api_topology_delete, AUTH},
    {"GET", "/api/v1/topologies/{id}/download", hs_api_topology_download,
     AUTH},
    {"POST", "/api/v1/topologies/{id}/restore", hs_api_topology_restore, AUTH},

    {"GET", "/api/v1/analyses", hs_api_analyses_list, AUTH},
    {"GET", "/api/v1/analyses/{id}", hs_api_analysis_get, AUTH},
    {"DELETE", "/api/v1/analyses/{id}", hs_api_analysis_delete, AUTH},
    {"POST", "/api/v1/analyses/{id}/restore", hs_api_analysis_restore, AUTH},
    {"GET", "/api/v1/analyses/{id}/incidents", hs_api_analysis_incidents,
     AUTH},
    {"GET", "/api/v1/analyses/{id}/incidents/{ix}", hs_api_analysis_incident,
     AUTH},
    {"GET", "/api/v1/analyses/{id}/download", hs_api_analysis_download, AUTH},
};

const size_t hs_api_n_routes = sizeof hs_api_routes / sizeof hs_api_routes[0];
