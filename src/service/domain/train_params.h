/* train_params.h - training parameters from a job's JSON.
 *
 * The web API's view of the engine's parameter tables (healer/params.h):
 * a JSON object of {name: value} onto the engine defaults, each value
 * checked by the same functions the CLI uses, so the two interfaces accept
 * exactly the same values. Nothing here knows a parameter by name.
 */
#ifndef HEALER_HS_TRAIN_PARAMS_H
#define HEALER_HS_TRAIN_PARAMS_H

#include <jansson.h>

#include "base/error.h"
#include "healer/healer.h"

/* Fills *out with the defaults of learner `algo` (NULL = the default
 * learner) and then the values of `params` (a JSON object, or NULL).
 * HS_ERR_INVALID with err->field naming the input:
 *   "algo"          an unknown learner;
 *   "params"        params is not an object;
 *   "params.NAME"   an unknown or CLI-only parameter, a value of the wrong
 *                   JSON type (whole numbers must be JSON integers, bools
 *                   true/false, choices strings), or out of range (the
 *                   engine's message: "invalid parameter NAME: must be in
 *                   1..100000"), or breaking a rule between parameters. */
hs_status hs_train_params_from_json(const json_t *params, const char *algo,
                                    hl_train_params *out, hs_error *err);

#endif
