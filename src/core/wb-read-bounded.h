/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-read-bounded.h: reading a whole file that must not be larger than a bound. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean wb_read_file_bounded (const char  *path,
                               gsize        max,
                               char       **contents,
                               gsize       *len,
                               GError     **error);

G_END_DECLS
