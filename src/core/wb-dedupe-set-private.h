/* wb-dedupe-set-private.h: file I/O helpers of WbDedupeSet (wb-dedupe-set-io.c). */
#pragma once

#include <json-glib/json-glib.h>

#include "wb-dedupe-set.h"

G_BEGIN_DECLS

typedef struct _WbDedupeWriter WbDedupeWriter;

WbDedupeWriter *_wb_dedupe_writer_new          (const char      *path);
void            _wb_dedupe_writer_release      (WbDedupeWriter  *w);
/* Hands @contents (transfer full) to the writer thread; newer text replaces unwritten text. */
void            _wb_dedupe_writer_submit       (WbDedupeWriter  *w,
                                                char            *contents,
                                                gsize            len);
/* Blocks until the writer thread has nothing left to write. */
void            _wb_dedupe_writer_wait         (WbDedupeWriter  *w);
/* Writes atomically in the calling thread. */
gboolean        _wb_dedupe_writer_write        (WbDedupeWriter  *w,
                                                const char      *contents,
                                                gsize            len,
                                                GError         **error);
guint           _wb_dedupe_writer_get_n_writes (WbDedupeWriter  *w);

void            _wb_json_append_string         (GString         *s,
                                                const char      *text);
gboolean        _wb_json_depth_ok              (const char      *data,
                                                gsize            len,
                                                gint             max_depth);

gboolean        _wb_dedupe_record_parse        (JsonNode        *node,
                                                gint64           now_us,
                                                WbDedupeRecord  *r);

G_END_DECLS
