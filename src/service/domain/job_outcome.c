/* domain/job_outcome.c - how a job type ends its outcome as failed (see
 * job_types.h). A file of its own: every job type calls it, and the
 * table of types in job_types.c names every type, so the two in one
 * object would make a cycle between the types' objects. */
#include "domain/job_types.h"

void hs_job_outcome_failed(hs_job_outcome *o, hs_status st, const char *message)
{
    o->state = HS_JOB_FAILED;
    o->store_unavailable = st == HS_ERR_UNAVAILABLE;
    hs_copy_message(o->error, sizeof o->error, message);
}
