/* healer/healer.h - the whole public API of the SystemHealer engine.
 *
 * One header per concern; this one just includes them all. Every public
 * symbol has the hl_ prefix. See docs/architecture.md for how they fit.
 */
#ifndef HEALER_HEALER_H
#define HEALER_HEALER_H

#include "healer/adapt.h"
#include "healer/classnames.h"
#include "healer/clock.h"
#include "healer/dataset.h"
#include "healer/drift.h"
#include "healer/error.h"
#include "healer/explain.h"
#include "healer/file.h"
#include "healer/incidents.h"
#include "healer/normal.h"
#include "healer/overlap.h"
#include "healer/metrics.h"
#include "healer/model.h"
#include "healer/params.h"
#include "healer/projection.h"
#include "healer/rca.h"
#include "healer/repair.h"
#include "healer/simulate.h"
#include "healer/suggest.h"
#include "healer/topology.h"
#include "healer/train.h"
#include "healer/version.h"

#endif
