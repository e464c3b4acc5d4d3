/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-application.h: the single-instance application that owns the pipeline and the alert tiers. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define WB_TYPE_APPLICATION (wb_application_get_type ())

G_DECLARE_FINAL_TYPE (WbApplication, wb_application, WB, APPLICATION, AdwApplication)

WbApplication *wb_application_new (void);

G_END_DECLS
