/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-headless.h: `wrenchbell --headless`: the whole pipeline and every tier but the toast, no
 * display. */
#pragma once

#include "wb-pipeline.h"

G_BEGIN_DECLS

int wb_headless_run (const WbPipelineConfig *config,
                     const char             *alert_log_path /* (nullable) */,
                     gboolean                quiet);

G_END_DECLS
