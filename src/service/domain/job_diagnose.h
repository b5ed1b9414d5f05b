/* domain/job_diagnose.h - one diagnosis run as a step of a job, shared by
 * the "diagnose" job (job_diagnose.c: a large diagnosis) and the
 * "pipeline" job (job_pipeline.c: train, then diagnose with the new
 * model), so that both read the samples, report progress, honour a cancel
 * and store the diagnosis the same way.
 */
#ifndef HEALER_HS_JOB_DIAGNOSE_H
#define HEALER_HS_JOB_DIAGNOSE_H

#include "domain/job_types.h"

/* What one diagnosis step reads. */
typedef struct hs_diagnose_input {
    hs_id model_id;       /* the model, the job's owner's */
    const char *blob_key; /* the samples: a CSV or a JSON array of rows */
    int is_json;          /* 1 = JSON rows, 0 = CSV */
    const char *name;     /* the diagnosis's name, and the input's in errors */
    int adapt;            /* adapt to the batch's class mix (hs_diag_run) */
} hs_diagnose_input;

/* Diagnoses in's samples with its model and stores the diagnosis as the
 * job's (owner and job id from run->job). Progress goes through
 * run->report (0.2 once read, 0.9 once predicted); a stop seen there ends
 * the step cancelled with nothing stored. A CSV lacking a KPI the model
 * needs fails, naming the input and the KPI. *o: succeeded with result_id
 * the diagnosis, cancelled, or failed with the reason in o->error. */
void hs_diagnose_step(hs_job_run *run, const hs_diagnose_input *in,
                      hs_job_outcome *o);

#endif
