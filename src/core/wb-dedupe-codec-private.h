/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-dedupe-codec-private.h: the dedupe set's text formats (a record, a snapshot, a journal
 * line). */
#pragma once

#include <json-glib/json-glib.h>

#include "wb-dedupe-set.h"

G_BEGIN_DECLS

/* The snapshot and each journal: never read beyond this. */
#define WB_DEDUPE_MAX_FILE_BYTES (32 * 1024 * 1024)

/* An empty table of assignment id (owned) → WbDedupeRecord (owned). */
GHashTable *_wb_dedupe_records_new         (void);

/* One record; FALSE for any wrong type or out-of-range value. */
gboolean    _wb_dedupe_record_parse        (JsonNode              *node,
                                            gint64                 now_us,
                                            WbDedupeRecord        *r);
/* One record as the snapshot and the journal write it. */
void        _wb_dedupe_record_append       (GString               *s,
                                            const WbDedupeRecord  *r);

/* The snapshot of @records (as from _wb_dedupe_records_new ()), covering the journals up to
 * @covered_gen; sorted, so the same content always gives the same text. */
char       *_wb_dedupe_snapshot_serialize  (GHashTable            *records,
                                            gint64                 covered_gen,
                                            gsize                 *len);
/* The records and the covered journal generation of a snapshot's text. */
gboolean    _wb_dedupe_snapshot_parse      (const char            *data,
                                            gsize                  len,
                                            gint64                 now_us,
                                            GHashTable           **records_out,
                                            gint64                *covered_out,
                                            GError               **error);

/* One journal line (without its newline): an assignment id and its record. */
void        _wb_dedupe_journal_line_append (GString               *s,
                                            const char            *assignment_id,
                                            const WbDedupeRecord  *r);
/* Returns: (transfer full) (nullable): the assignment id of @line (filling @r), NULL when the
 * line is empty, torn or invalid. */
char       *_wb_dedupe_journal_line_parse  (const char            *line,
                                            gint64                 now_us,
                                            WbDedupeRecord        *r);

G_END_DECLS
