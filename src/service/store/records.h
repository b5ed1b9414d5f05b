/* store/records.h - the records the store keeps, as plain structs.
 *
 * Users, sessions, account events, notifications, datasets, models, jobs
 * (and the attempts of a training job), diagnoses and the labels people
 * gave their rows: what the store's
 * operations (store.h) read and write, and what the rest of the service passes
 * around and renders. Split from the operations so that a layer may know the
 * records without being able to call the store: the HTTP handlers render
 * records they get from domain services, and include this header only
 * (mk/layers.py checks it).
 *
 * Records are plain structs with fixed-size, NUL-terminated strings; the
 * few that own heap memory (JSON text) say so and come with their free
 * functions here.
 */
#ifndef HEALER_HS_RECORDS_H
#define HEALER_HS_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* A record id: positive, assigned by the store; 0 means "none". */
typedef int64_t hs_id;

/* Field sizes, NUL included. */
#define HS_USERNAME_MAX 64
#define HS_STORE_PASSWORD_HASH_MAX 128 /* == auth.h HS_PASSWORD_HASH_MAX */
#define HS_STORE_TOKEN_HASH_MAX 65     /* 64 hex + NUL */
#define HS_KIND_MAX 32
#define HS_MESSAGE_MAX 512
#define HS_EMAIL_MAX 255 /* an address is at most 254 bytes (RFC 5321) */
#define HS_DATASET_NAME_MAX 256
#define HS_DATASET_STATE_MAX 16
#define HS_DATASET_INGESTING "ingesting" /* its ingest job runs */
#define HS_DATASET_READY "ready"         /* usable: every dataset made
                                            before version 14 */
#define HS_DATASET_FAILED "failed"       /* ingestion failed: ingest_error */
#define HS_JOB_TYPE_INGEST "ingest"      /* the job that ingests a dataset:
                                            the one job on an ingesting
                                            dataset that the claims take */
#define HS_SETTING_KEY_MAX 64            /* a setting's name, NUL included */
#define HS_SETTING_VALUE_MAX (64 * 1024) /* a setting's value, in bytes */
#define HS_STORE_BLOB_KEY_MAX 66 /* == blob.h HS_BLOB_KEY_MAX */

typedef struct hs_user {
    hs_id id;
    char username[HS_USERNAME_MAX]; /* unique, exact (case-sensitive) */
    char password_hash[HS_STORE_PASSWORD_HASH_MAX];
    int is_admin;         /* 0 or 1 (roles: admin, user) */
    int disabled;         /* 0 or 1 */
    int64_t created_at;   /* unix seconds */
    int64_t locked_until; /* unix seconds; 0 = not locked */
    char email[HS_EMAIL_MAX]; /* "" = none; where alerts are mailed */
} hs_user;

typedef struct hs_session {
    hs_id id;
    hs_id user_id;
    char token_hash[HS_STORE_TOKEN_HASH_MAX]; /* unique; never the token */
    int remember;
    int64_t created_at;
    int64_t last_seen_at;
    int64_t expires_at; /* expired when expires_at <= now */
} hs_session;

typedef struct hs_notification {
    hs_id id;
    char kind[HS_KIND_MAX]; /* e.g. "account_locked" */
    char message[HS_MESSAGE_MAX];
    hs_id user_id; /* the user it is about; 0 = none */
    int64_t created_at;
    int read; /* 0 or 1 */
} hs_notification;

typedef struct hs_account_event {
    hs_id id;
    hs_id user_id;
    char kind[HS_KIND_MAX]; /* "login_failed", "locked", "unlocked", ... */
    int64_t at;
} hs_account_event;

/* The text fields the domain keeps sealed (encrypted under the data key,
 * domain/sealed.h): the store stores and returns them as opaque text, and
 * names them for `healer rekey` (store ops version 11). */
typedef enum hs_sealed_field {
    HS_SEALED_DATASET_PROFILE, /* hs_dataset_rec.profile_json */
    HS_SEALED_MODEL_SUMMARY,   /* hs_model_rec.summary_json */
    HS_SEALED_MODEL_FEEDBACK,  /* hs_model_rec.feedback_json */
    HS_SEALED_DIAGNOSIS_SUMMARY, /* hs_diagnosis_rec.summary_json */
    HS_SEALED_FIELDS
} hs_sealed_field;

/* An uploaded dataset. Its bytes live in the blob store under blob_key;
 * the store keeps only the metadata. Unlike the other records it owns heap
 * memory (profile_json): release a single record with hs_dataset_rec_free
 * and a list with hs_dataset_list_free. */
typedef struct hs_dataset_rec {
    hs_id id;
    hs_id owner_id;                       /* the user it belongs to */
    char name[HS_DATASET_NAME_MAX];       /* display name, not unique */
    char blob_key[HS_STORE_BLOB_KEY_MAX]; /* unique */
    int64_t size_bytes;
    int64_t rows;       /* 0 until profiled */
    int64_t features;   /* 0 until profiled */
    char *profile_json; /* malloc'ed JSON text; NULL = not profiled yet */
    int64_t created_at;
    int64_t deleted_at; /* unix seconds it went to the trash; 0 = live */
    /* Version 14: an upload's ingestion (an ingest job) - HS_DATASET_*
     * below; an older backend's datasets are all "ready". */
    char state[HS_DATASET_STATE_MAX];
    char ingest_error[HS_MESSAGE_MAX]; /* why it failed, "" = it did not */
    /* Version 16: 1 when the engine refused the file and its blob was
     * deleted (a failed dataset that cannot be ingested again); 0 while
     * the file is kept, and always on an older backend. */
    int file_deleted;
} hs_dataset_rec;

/* A trained model. Its file lives in the blob store under blob_key (the
 * engine's model format); summary_json is the engine summary rendered as
 * JSON (parameters, data shape, metrics, importance, curve), kept here so
 * that listing and showing models never loads a model file. Owns heap
 * memory: release with hs_model_rec_free / hs_model_list_free. */
typedef struct hs_model_rec {
    hs_id id;
    hs_id owner_id;
    hs_id dataset_id; /* the dataset it was trained on; 0 once purged */
    hs_id job_id;     /* the training job that made it; 0 = none (import) */
    char name[HS_DATASET_NAME_MAX];
    char algo[HS_KIND_MAX];               /* "gbdt", ... */
    char blob_key[HS_STORE_BLOB_KEY_MAX]; /* unique */
    int64_t size_bytes;
    int64_t n_features;
    int64_t n_classes;
    double macro_f1; /* best quality estimate (CV, else validation); NAN = none */
    double accuracy; /* same source as macro_f1; NAN = none */
    char *summary_json; /* malloc'ed JSON text, never NULL in a stored record */
    int64_t created_at;
    /* A model retrained with labels from diagnoses: the model it retrains
     * (0 = none, or deleted since) and what it learnt from them (malloc'ed
     * JSON object text: the diagnoses, the rows, the comparison with the
     * parent; NULL for any other model). Kept since store version 3. */
    hs_id parent_id;
    char *feedback_json;
    /* Its classes' names, descriptions and first actions as people last
     * set them (malloc'ed JSON object text, MODEL.class_names of
     * docs/api.md; NULL when never set: the model then has none). Kept
     * since store version 4. */
    char *class_names_json;
    /* Unix seconds it went to the trash; 0 = live. Kept since store
     * version 5 (an older backend has no trash: always 0). */
    int64_t deleted_at;
} hs_model_rec;

/* Job states, in the order of their life. The names are the API's. */
typedef enum hs_job_state {
    HS_JOB_QUEUED = 0,
    HS_JOB_RUNNING = 1,
    HS_JOB_SUCCEEDED = 2,
    HS_JOB_FAILED = 3,
    HS_JOB_CANCELLED = 4
} hs_job_state;
#define HS_JOB_STATES 5

/* "queued", "running", ...; "unknown" for anything else. */
static inline const char *hs_job_state_name(hs_job_state s)
{
    static const char *const names[HS_JOB_STATES] = {
        "queued", "running", "succeeded", "failed", "cancelled"};
    return (unsigned)s < HS_JOB_STATES ? names[s] : "unknown";
}

/* 1 for a state a job ends in (succeeded, failed, cancelled). */
static inline int hs_job_state_is_final(hs_job_state s)
{
    return s == HS_JOB_SUCCEEDED || s == HS_JOB_FAILED || s == HS_JOB_CANCELLED;
}

/* What a job's result_kind names: the record kind its result_id points
 * at. One reference for every job type, so a new type (later "rca") adds a
 * kind, not a column. */
#define HS_RESULT_MODEL "model"
#define HS_RESULT_DIAGNOSIS "diagnosis"
#define HS_RESULT_ANALYSIS "analysis"

/* A worker id: who holds a running job's lease (hostname, pid and a random
 * part, made once per runner), NUL included. */
#define HS_WORKER_ID_MAX 64

/* A background job (training, large diagnosis). The queue *is* the table:
 * workers claim the oldest queued job, so jobs survive restarts and several
 * workers (later, several machines) can share one queue. A running job is
 * leased to one worker until lease_expires_at; the worker renews the lease
 * while it works, and only a job whose lease ran out can be taken back
 * (hs_store_job_recover), so a live worker's job is never stolen. Owns heap
 * memory: release with hs_job_rec_free / hs_job_list_free. */
typedef struct hs_job_rec {
    hs_id id;
    hs_id owner_id;
    char type[HS_KIND_MAX]; /* "train", "diagnose" */
    hs_job_state state;
    hs_id dataset_id; /* train: the input; 0 = none */
    hs_id model_id;   /* the input model (diagnose); 0 = none (train) */
    char result_kind[HS_KIND_MAX]; /* HS_RESULT_*; "" = no result */
    hs_id result_id; /* the result record; 0 = none, or deleted since */
    char worker_id[HS_WORKER_ID_MAX]; /* the lease holder; "" = not running */
    int64_t lease_expires_at;         /* unix seconds; 0 = not running */
    char input_blob_key[HS_STORE_BLOB_KEY_MAX]; /* diagnose: uploaded CSV; "" = none */
    char name[HS_DATASET_NAME_MAX]; /* what the result will be called */
    char *params_json;   /* the request's parameters (JSON object text) */
    double progress;     /* 0..1 */
    int64_t round;       /* boosting round just finished (0 = none yet) */
    int64_t rounds;      /* planned rounds of the current stage */
    char *losses_json;   /* progress detail (JSON text), NULL = none yet */
    /* JSON text a version 1 caller gave hs_store_job_finish, NULL = none.
     * The service records attempts as hs_job_attempt records instead. */
    char *attempts_json;
    char error[HS_MESSAGE_MAX]; /* why it failed or was cancelled, "" = n/a */
    int cancel_requested; /* 0 or 1: the runner stops at the next round */
    int64_t restarts;     /* times it was taken back from a lost worker */
    int64_t created_at;
    int64_t started_at;  /* 0 = not started */
    int64_t finished_at; /* 0 = not finished */
    /* rca: the topology analysed (0 = none, or purged since). Kept since
     * store version 6 (an older backend keeps none: always 0). */
    hs_id topology_id;
} hs_job_rec;

/* One attempt of a training job's self-repair (the engine's
 * hl_train_attempt, healer/repair.h), recorded as it ends so that the job
 * shows every attempt, and why it failed, while the next one runs. The
 * store keeps the strings as given; their values are the domain's.
 * Owns heap memory: release a list with hs_job_attempt_list_free. */
typedef struct hs_job_attempt {
    hs_id job_id;
    int64_t number;              /* 1-based, unique within the job */
    char step[HS_KIND_MAX];      /* why it ran with these parameters */
    char algo[HS_KIND_MAX];      /* the learner it trained */
    char outcome[HS_KIND_MAX];   /* how it ended */
    char reason[HS_MESSAGE_MAX]; /* why it did not succeed, "" = it did */
    double seconds;              /* its duration; NAN = unknown */
    char *params_json;           /* the parameters it ran with (JSON object) */
} hs_job_attempt;

/* A stored diagnosis: the per-row results live in the blob store under
 * blob_key (see diagnoses.h for their format); summary_json holds class
 * counts, metrics when the input had labels, and warnings. Owns heap memory:
 * release with hs_diagnosis_rec_free / hs_diagnosis_list_free. */
typedef struct hs_diagnosis_rec {
    hs_id id;
    hs_id owner_id;
    hs_id model_id; /* 0 once the model was deleted */
    hs_id job_id;   /* 0 = answered at once, without a job */
    char name[HS_DATASET_NAME_MAX];
    char blob_key[HS_STORE_BLOB_KEY_MAX]; /* unique */
    int64_t rows;
    char *summary_json; /* malloc'ed JSON text, never NULL in a stored record */
    int64_t created_at;
    /* The diagnosed KPI values (the model's features, as the engine's
     * CSV), so that labelled rows can be trained on; "" = not kept (made
     * before store version 3, or by a backend older than it). */
    char input_blob_key[HS_STORE_BLOB_KEY_MAX];
    /* Read only: its model's class_names_json as it is now (malloc'ed;
     * NULL when the model is gone or has none). Filled by get and list
     * since store version 4; create ignores it. */
    char *model_class_names_json;
    /* Unix seconds it went to the trash; 0 = live. Kept since store
     * version 5 (an older backend has no trash: always 0). */
    int64_t deleted_at;
} hs_diagnosis_rec;

/* A class given to one row of a diagnosis by a person: the row's true
 * class as they confirmed (the prediction) or corrected it, to train on.
 * One per (diagnosis, row). */
#define HS_LABEL_MAX 256 /* a class name, NUL included */
typedef struct hs_diagnosis_label {
    hs_id diagnosis_id;
    int64_t row;                    /* 0-based, below the diagnosis's rows */
    char label[HS_LABEL_MAX];       /* the class; "" in a put = clear it */
    hs_id user_id;                  /* who labelled it; 0 once deleted */
    char username[HS_USERNAME_MAX]; /* theirs, read back ("" when gone) */
    int64_t labelled_at;
} hs_diagnosis_label;

/* An uploaded topology (healer/topology.h): the file, as uploaded, lives
 * in the blob store under blob_key; the record keeps what lists show
 * without reading it. Owns heap memory (kinds_json): release with
 * hs_topology_rec_free / hs_topology_list_free. Since store version 6. */
#define HS_TOPOLOGY_FORMAT_MAX 8 /* "json", "csv" */
typedef struct hs_topology_rec {
    hs_id id;
    hs_id owner_id;
    char name[HS_DATASET_NAME_MAX];
    char format[HS_TOPOLOGY_FORMAT_MAX];  /* "json" or "csv" */
    char blob_key[HS_STORE_BLOB_KEY_MAX]; /* unique */
    int64_t size_bytes;
    int64_t nodes;               /* >= 1 */
    int64_t edges;               /* >= 0, repeats merged */
    int64_t bidirectional_edges; /* <= edges */
    char *kinds_json; /* malloc'ed JSON object {"database": 3, ...} */
    int64_t created_at;
    int64_t deleted_at; /* unix seconds it went to the trash; 0 = live */
} hs_topology_rec;

/* A stored root-cause analysis (an rca job's result). Its ranks live in
 * the blob store (analyses.h: the ranks CSV, the whole JSON, and the
 * incidents one by one with their index); summary_json holds what lists
 * show. Owns heap memory: release with hs_analysis_rec_free /
 * hs_analysis_list_free. Since store version 6. */
typedef struct hs_analysis_rec {
    hs_id id;
    hs_id owner_id;
    hs_id job_id;      /* 0 = none */
    hs_id model_id;    /* 0 once the model was purged */
    hs_id topology_id; /* 0 once the topology was purged */
    hs_id dataset_id;  /* 0 once the incident dataset was purged */
    char name[HS_DATASET_NAME_MAX];
    char normal[HS_LABEL_MAX]; /* the normal class's label */
    int64_t top;               /* candidates per incident */
    int64_t incidents;
    int64_t topology_nodes;
    char csv_blob_key[HS_STORE_BLOB_KEY_MAX];       /* the ranks CSV */
    char json_blob_key[HS_STORE_BLOB_KEY_MAX];      /* the whole JSON */
    char incidents_blob_key[HS_STORE_BLOB_KEY_MAX]; /* one by one */
    char *summary_json; /* malloc'ed JSON text, never NULL when stored */
    int64_t created_at;
    int64_t deleted_at;
    /* Read only: when its model went to the trash (0 = live, or gone). */
    int64_t model_deleted_at;
    /* Read only: its model's class_names_json as it is now (malloc'ed;
     * NULL when the model is gone or has none), as a diagnosis has. */
    char *model_class_names_json;
} hs_analysis_rec;

static inline void hs_topology_rec_free(hs_topology_rec *t)
{
    if (t) {
        free(t->kinds_json);
        t->kinds_json = NULL;
    }
}

static inline void hs_topology_list_free(hs_topology_rec *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++)
        hs_topology_rec_free(&items[i]);
    free(items);
}

static inline void hs_analysis_rec_free(hs_analysis_rec *a)
{
    if (a) {
        free(a->summary_json);
        free(a->model_class_names_json);
        a->summary_json = a->model_class_names_json = NULL;
    }
}

static inline void hs_analysis_list_free(hs_analysis_rec *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++)
        hs_analysis_rec_free(&items[i]);
    free(items);
}

/* ---- login back-off and unlock links (store version 8) ---- */

#define HS_BACKOFF_KEY_MAX 96 /* "a:" + an address key, "u:" + a name's hash */

/* The failed logins counted under one key - an account ("u:...") or a
 * client address ("a:..."): how many in a row, and when the last was. */
typedef struct hs_backoff_rec {
    char key[HS_BACKOFF_KEY_MAX];
    int64_t failures;        /* >= 1 */
    int64_t last_failure_at; /* unix seconds */
} hs_backoff_rec;

/* A one-time link that lifts an account's lock. Only the token's hash is
 * kept (as a session's). A token is usable while used_at and revoked_at
 * are 0 and now < expires_at. */
typedef struct hs_unlock_token {
    hs_id id;
    hs_id user_id;
    char token_hash[HS_STORE_TOKEN_HASH_MAX]; /* unique */
    int64_t created_at;
    int64_t expires_at;
    int64_t used_at;    /* 0 = not used */
    int64_t revoked_at; /* 0 = not revoked (a newer lock or an unlock) */
} hs_unlock_token;

/* The event kind hs_store_login_failures_since looks for. */
#define HS_EVENT_LOGIN_FAILED "login_failed"

/* Frees d->profile_json and sets it to NULL; the rest of *d is plain data.
 * NULL is a no-op. */
static inline void hs_dataset_rec_free(hs_dataset_rec *d)
{
    if (d) {
        free(d->profile_json);
        d->profile_json = NULL;
    }
}

/* Frees a list from hs_store_dataset_list: every record's profile_json,
 * then the array. NULL is a no-op. */
static inline void hs_dataset_list_free(hs_dataset_rec *items, size_t n)
{
    size_t i;
    if (!items)
        return;
    for (i = 0; i < n; i++)
        free(items[i].profile_json);
    free(items);
}


/* ---- models, jobs, diagnoses: common rules ------------------------------ *
 *
 * The access rule of datasets applies to all three: a record is visible to
 * its owner and to admins; to anyone else it does not exist
 * (HS_ERR_NOTFOUND). Strings must fit their fields (HS_ERR_INVALID
 * otherwise); JSON text fields are copied by the store and stay the
 * caller's. Records own their JSON text: *_rec_free releases one record's,
 * *_list_free a list. */

static inline void hs_model_rec_free(hs_model_rec *m)
{
    if (m) {
        free(m->summary_json);
        free(m->feedback_json);
        free(m->class_names_json);
        m->summary_json = m->feedback_json = m->class_names_json = NULL;
    }
}

static inline void hs_model_list_free(hs_model_rec *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++)
        hs_model_rec_free(&items[i]);
    free(items);
}

static inline void hs_job_rec_free(hs_job_rec *j)
{
    if (j) {
        free(j->params_json);
        free(j->losses_json);
        free(j->attempts_json);
        j->params_json = j->losses_json = j->attempts_json = NULL;
    }
}

static inline void hs_job_list_free(hs_job_rec *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++)
        hs_job_rec_free(&items[i]);
    free(items);
}

static inline void hs_job_attempt_list_free(hs_job_attempt *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++)
        free(items[i].params_json);
    free(items);
}

static inline void hs_diagnosis_rec_free(hs_diagnosis_rec *d)
{
    if (d) {
        free(d->summary_json);
        free(d->model_class_names_json);
        d->summary_json = d->model_class_names_json = NULL;
    }
}

static inline void hs_diagnosis_list_free(hs_diagnosis_rec *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++)
        hs_diagnosis_rec_free(&items[i]);
    free(items);
}

/* ---- the outbox of alerts (version 9) ----------------------------------- */

/* Field sizes of an outbox message, NUL included. */
#define HS_OUTBOX_CHANNEL_MAX 16
#define HS_OUTBOX_SUBJECT_MAX 201 /* one line, 1..200 bytes */
#define HS_OUTBOX_BODY_MAX 8801 /* 1..8800 bytes: the text as composed */

/* Channels and states, as stored. */
#define HS_OUTBOX_MAIL "mail"
#define HS_OUTBOX_WEBHOOK "webhook"
#define HS_OUTBOX_PENDING "pending" /* waiting for its (next) attempt */
#define HS_OUTBOX_SENT "sent"       /* delivered at sent_at */
#define HS_OUTBOX_FAILED "failed"   /* given up after its attempts */

/* One message waiting to leave (or that left) through one channel: a mail
 * to one address, or one webhook POST. Written by domain/alerts.c when an
 * alert is queued, then by its sender thread as it delivers. */
typedef struct hs_outbox_msg {
    hs_id id;
    char channel[HS_OUTBOX_CHANNEL_MAX]; /* HS_OUTBOX_MAIL or _WEBHOOK */
    char kind[HS_KIND_MAX];              /* "account_locked", ... */
    char recipient[HS_EMAIL_MAX];        /* mail: the address; webhook: "" */
    hs_id user_id;                       /* the user it is about; 0 = none */
    char subject[HS_OUTBOX_SUBJECT_MAX];
    char body[HS_OUTBOX_BODY_MAX];
    int64_t created_at;
    char state[HS_KIND_MAX]; /* HS_OUTBOX_PENDING, _SENT or _FAILED */
    int64_t attempts;        /* delivery attempts made so far */
    int64_t next_attempt_at; /* pending: not tried before this time */
    int64_t sent_at;         /* 0 until sent */
    char last_error[HS_MESSAGE_MAX]; /* the last failure's reason, "" = none */
} hs_outbox_msg;

/* ---- the audit log and the refusal tallies (store version 10) --------- */

#define HS_ADDRESS_MAX 64 /* a client address as the HTTP layer has it */
#define HS_ROUTE_KEY_MAX 96 /* a route: "POST /api/v1/users/{id}/unlock" */

/* One administrative action, as it happened: who (actor_id 0 = the
 * command line on the server, with actor_name saying so), what, on what,
 * when, from where, and a short detail. No reference is enforced: a row
 * outlives its actor and its target (names are copied at the time). */
typedef struct hs_audit_rec {
    hs_id id;
    int64_t at;
    hs_id actor_id;
    char actor_name[HS_USERNAME_MAX];
    char action[HS_KIND_MAX];         /* "user_created", ... (domain/audit.h) */
    char target_kind[HS_KIND_MAX];    /* "user", "dataset", ... */
    hs_id target_id;                  /* 0 = none */
    char target_name[HS_DATASET_NAME_MAX];
    char address[HS_ADDRESS_MAX];     /* "" = unknown; "cli" for the CLI */
    char detail[HS_MESSAGE_MAX];
} hs_audit_rec;

/* Which audit rows a list returns: every non-empty / non-zero member
 * narrows it. Newest first (by id), at most `limit` rows (1..1000). */
typedef struct hs_audit_filter {
    char action[HS_KIND_MAX];        /* "" = any */
    char actor_name[HS_USERNAME_MAX]; /* "" = any */
    int64_t since;                   /* at >= since; 0 = no bound */
    int64_t until;                   /* at < until; 0 = no bound */
    hs_id before_id;                 /* id < before_id; 0 = from the newest */
    int64_t limit;
} hs_audit_filter;

/* One tally of refused requests: in the time bucket starting at `bucket`
 * (unix seconds), requests to `route` from `source` refused as `kind`
 * ("unauthorized", "forbidden", "csrf_failed", "rate_limited"). Also the
 * shape of the store's aggregations, with the members they do not group
 * by left empty / 0. */
typedef struct hs_tally {
    int64_t bucket;
    char route[HS_ROUTE_KEY_MAX];
    char source[HS_ADDRESS_MAX];
    char kind[HS_KIND_MAX];
    int64_t count;
} hs_tally;

#endif
