/* api_feedback.c - labelling the rows of a diagnosis: the rows worth
 * labelling first, the labels given so far, and setting or clearing them.
 * The rules (what a label may be, the limits) are the feedback service's
 * (domain/feedback.h); retraining on the labels is a job (POST /jobs,
 * type "retrain"). Each works on a diagnosis the caller may see, under
 * the same access rule as the diagnosis itself.
 */
#include <stdlib.h>
#include <string.h>

#include "domain/diagnoses.h"
#include "domain/feedback.h"
#include "http/api.h"

static void reply(hs_resp *resp, hs_status st, const hs_error *err,
                  json_t *out)
{
    if (st != HS_OK)
        hs_reply_status(resp, st, err);
    else
        hs_reply_json(resp, 200, out);
}

void hs_api_diagnosis_suggestions(hs_app *app, hs_req *req, hs_resp *resp)
{
    const char *q = hs_req_query(req, "per_class");
    char *end = NULL;
    unsigned long long per_class =
        q ? strtoull(q, &end, 10) : HS_FEEDBACK_SUGGEST_DEFAULT;
    if (q && (!*q || *q == '-' || *end)) {
        hs_reply_error(resp, 400, "bad_request",
                       json_pack("{s:s}", "field", "per_class"),
                       "?per_class= must be a whole number");
        return;
    }
    hs_diagnosis_rec rec;
    hs_error err = {0};
    json_t *out = NULL;
    if (!hs_api_load_diagnosis(app, req, resp, &rec))
        return;
    hs_status st = hs_feedback_suggest(
        app, &rec, per_class > SIZE_MAX ? SIZE_MAX : (size_t)per_class, &out,
        &err);
    reply(resp, st, &err, out);
    hs_diagnosis_rec_free(&rec);
}

void hs_api_diagnosis_labels_get(hs_app *app, hs_req *req, hs_resp *resp)
{
    size_t offset, limit;
    hs_diagnosis_rec rec;
    hs_error err = {0};
    json_t *out = NULL;
    if (hs_api_paging(req, resp, &offset, &limit) != 0 ||
        !hs_api_load_diagnosis(app, req, resp, &rec))
        return;
    hs_status st = hs_feedback_labels(app, &rec, &req->user, offset, limit,
                                      &out, &err);
    reply(resp, st, &err, out);
    hs_diagnosis_rec_free(&rec);
}

void hs_api_diagnosis_labels_put(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    if (!body)
        return;
    hs_diagnosis_rec rec;
    hs_error err = {0};
    json_t *out = NULL;
    if (hs_api_load_diagnosis(app, req, resp, &rec)) {
        hs_status st = hs_feedback_put_labels(app, &rec, &req->user, body,
                                              &out, &err);
        reply(resp, st, &err, out);
        hs_diagnosis_rec_free(&rec);
    }
    json_decref(body);
}
