/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-dedupe-snapshot-writer-private.h: the dedupe set's snapshot writer
 * (wb-dedupe-snapshot-writer.c). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _WbDedupeWriter WbDedupeWriter;

WbDedupeWriter *_wb_dedupe_writer_new          (const char      *path);
void            _wb_dedupe_writer_release      (WbDedupeWriter  *w);
/* Hands @contents (transfer full), which holds the journals up to @covered, to the writer
 * thread; newer text replaces unwritten text. After writing it, the writer deletes those
 * journals. */
void            _wb_dedupe_writer_submit       (WbDedupeWriter  *w,
                                                char            *contents,
                                                gsize            len,
                                                gint64           covered);
/* Blocks until the writer thread has nothing left to write. */
void            _wb_dedupe_writer_wait         (WbDedupeWriter  *w);
/* Writes atomically in the calling thread. */
gboolean        _wb_dedupe_writer_write        (WbDedupeWriter  *w,
                                                const char      *contents,
                                                gsize            len,
                                                GError         **error);
guint           _wb_dedupe_writer_get_n_writes (WbDedupeWriter  *w);

G_END_DECLS
