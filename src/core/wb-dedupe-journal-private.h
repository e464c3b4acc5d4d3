/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-dedupe-journal-private.h: the dedupe set's write-ahead journal files (wb-dedupe-journal.c). */
#pragma once

#include "wb-dedupe-set.h"

G_BEGIN_DECLS

typedef void (*WbDedupeJournalFunc) (const char           *assignment_id,
                                     const WbDedupeRecord *record,
                                     gpointer              user_data);

char   *_wb_dedupe_journal_path        (const char           *path,
                                        gint64                gen);
/* Appends one change to journal @gen of the set at @path, opening it into @fd (-1: not open
 * yet) the first time. Failures are logged, not reported. */
void    _wb_dedupe_journal_append      (int                  *fd,
                                        const char           *path,
                                        gint64                gen,
                                        const char           *assignment_id,
                                        const WbDedupeRecord *r);
/* The generations of the journals beside @path, ascending. */
GArray *_wb_dedupe_journal_list        (const char           *path);
/* Replays journal @gen through @apply; returns the number of lines applied. */
guint   _wb_dedupe_journal_replay      (const char           *path,
                                        gint64                gen,
                                        gint64                now_us,
                                        WbDedupeJournalFunc   apply,
                                        gpointer              user_data);
/* Deletes the journals beside @path up to and including generation @upto. */
void    _wb_dedupe_journal_delete_upto (const char           *path,
                                        gint64                upto);

G_END_DECLS
