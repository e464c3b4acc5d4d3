/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-dedupe-set.h: the storage of the dedupe rules' per-assignment episode state (the rules are in
 * wb-event-merger.c): persisted, bounded, corruption-tolerant. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define WB_DEDUPE_SET_DEFAULT_MAX_ENTRIES 5000
#define WB_DEDUPE_SET_DEFAULT_MAX_AGE_US  (7 * G_TIME_SPAN_DAY)
#define WB_DEDUPE_SET_SAVE_INTERVAL_MS    200

typedef struct
{
  guint    episode;             /* 0 = never queued (seen only leaving the queue) */
  gboolean open;
  gint64   last_updated_at_us;  /* newest updated_at seen for the row, 0 if none */
  gint64   touched_wall_us;     /* last time anything about it was recorded */
  gint64   opened_wall_us;      /* when the current (or last) episode opened, 0 if never */
  gint64   queued_at_us;        /* offered_at of the open (or last) episode, 0 if unknown */
  gboolean rung;                /* the open episode's alert went out (and was logged) */
} WbDedupeRecord;

typedef void (*WbDedupeSetFunc) (const char           *assignment_id,
                                 const WbDedupeRecord *record,
                                 gpointer              user_data);

#define WB_TYPE_DEDUPE_SET (wb_dedupe_set_get_type ())

G_DECLARE_FINAL_TYPE (WbDedupeSet, wb_dedupe_set, WB, DEDUPE_SET, GObject)

char                 *wb_dedupe_set_default_path   (void);
/* @path: (nullable): NULL for the default path, "" for a set that is never persisted.
 * Loads the file at once (see wb_dedupe_set_load ()). */
WbDedupeSet          *wb_dedupe_set_new            (const char            *path);
WbDedupeSet          *wb_dedupe_set_new_full       (const char            *path,
                                                    guint                  max_entries,
                                                    gint64                 max_age_us,
                                                    gint64                 now_us);
WbDedupeSet          *wb_dedupe_set_new_unloaded   (const char            *path);
/* NULL for a set kept in memory only. */
const char           *wb_dedupe_set_get_path       (WbDedupeSet           *self);

/* Replaces the content by the file's; missing file → empty. A corrupt one is renamed *.corrupt,
 * the set starts empty and recovered-from-corruption becomes (and stays) TRUE. Never fails. */
void                  wb_dedupe_set_load           (WbDedupeSet           *self,
                                                    gint64                 now_us);
void                  wb_dedupe_set_load_async     (WbDedupeSet           *self,
                                                    gint64                 now_us,
                                                    GCancellable          *cancellable,
                                                    GAsyncReadyCallback    callback,
                                                    gpointer               user_data);
void                  wb_dedupe_set_load_finish    (WbDedupeSet           *self,
                                                    GAsyncResult          *result);
gboolean              wb_dedupe_set_is_loading     (WbDedupeSet           *self);
gboolean              wb_dedupe_set_load_from_data (WbDedupeSet           *self,
                                                    const char            *data,
                                                    gsize                  len,
                                                    gint64                 now_us,
                                                    GError               **error);
char                 *wb_dedupe_set_serialize      (WbDedupeSet           *self,
                                                    gsize                 *len);
gboolean              wb_dedupe_set_get_recovered_from_corruption (WbDedupeSet *self);

const WbDedupeRecord *wb_dedupe_set_lookup         (WbDedupeSet           *self,
                                                    const char            *assignment_id);
/* Stores a copy of @record with touched_wall_us = @now_us and schedules a coalesced save. */
void                  wb_dedupe_set_put            (WbDedupeSet           *self,
                                                    const char            *assignment_id,
                                                    const WbDedupeRecord  *record,
                                                    gint64                 now_us);
void                  wb_dedupe_set_foreach        (WbDedupeSet           *self,
                                                    WbDedupeSetFunc        func,
                                                    gpointer               user_data);
guint                 wb_dedupe_set_get_size       (WbDedupeSet           *self);
/* Forgets closed records untouched for max-age, then the least recently touched over the bound. */
void                  wb_dedupe_set_prune          (WbDedupeSet           *self,
                                                    gint64                 now_us);
/* Writes now if anything changed (waiting for a write in progress). For shutdown and tests. */
gboolean              wb_dedupe_set_flush          (WbDedupeSet           *self,
                                                    GError               **error);
guint                 wb_dedupe_set_get_n_writes   (WbDedupeSet           *self);
/* How many times a worker thread made the journal durable (fdatasync) so far. */
guint                 wb_dedupe_set_get_n_journal_syncs (WbDedupeSet      *self);

G_END_DECLS
