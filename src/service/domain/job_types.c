/* domain/job_types.c - the table of job types this build runs (see
 * job_types.h). A new type is its own file and one line here. */
#include <string.h>

#include "domain/job_types.h"

const hs_job_type *const hs_job_types[] = {
    &hs_job_type_train,
    &hs_job_type_diagnose,
    &hs_job_type_retrain,
    &hs_job_type_pipeline,
    &hs_job_type_rca,
    &hs_job_type_ingest,
    NULL,
};

const hs_job_type *hs_job_type_find(const hs_job_type *const *table,
                                    const char *name)
{
    for (size_t i = 0; name && table[i]; i++)
        if (!strcmp(table[i]->name, name))
            return table[i];
    return NULL;
}
