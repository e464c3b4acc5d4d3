/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-line-file.h: append-only files of one record per line (the alert log, the dedupe journal). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

int      wb_line_file_open   (const char  *path,
                              GError     **error);
gboolean wb_line_file_append (int          fd,
                              const char  *line,
                              gsize        len,
                              gboolean     sync,
                              GError     **error);

G_END_DECLS
