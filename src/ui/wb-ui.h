/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-ui.h: entry point of the window app (AdwApplication). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

int wb_ui_main (int argc, char **argv);

G_END_DECLS
