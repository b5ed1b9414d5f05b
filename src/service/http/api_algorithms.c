/* api_algorithms.c - GET /api/v1/algorithms: the learners and their
 * parameters, as the engine's tables define them.
 *
 * The web UI renders its training form from this answer, and scripts can
 * read the ranges the API enforces from it; both views come from the one
 * parameter table per learner (healer/params.h), so nothing here lists a
 * parameter. Public, like /health: it says nothing about anyone's data.
 */
#include "domain/engine_json.h"
#include "http/api.h"

void hs_api_algorithms(hs_app *app, hs_req *req, hs_resp *resp)
{
    (void)app;
    (void)req;
    hs_reply_json(resp, 200, hs_json_algorithms());
}
