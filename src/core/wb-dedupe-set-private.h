/* wb-dedupe-set-private.h: file I/O helpers of WbDedupeSet (wb-dedupe-set-io.c). */
#pragma once

#include <json-glib/json-glib.h>

#include "wb-dedupe-set.h"

G_BEGIN_DECLS

/* The snapshot and each journal: never read beyond this. */
#define WB_DEDUPE_MAX_FILE_BYTES (32 * 1024 * 1024)

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
gboolean        _wb_read_file_bounded          (const char      *path,
                                                gsize            max,
                                                char           **contents,
                                                gsize           *len,
                                                GError         **error);

gboolean        _wb_dedupe_record_parse        (JsonNode        *node,
                                                gint64           now_us,
                                                WbDedupeRecord  *r);
void            _wb_dedupe_record_append       (GString         *s,
                                                const WbDedupeRecord *r);

/* The write-ahead journal (wb-dedupe-journal.c). */
typedef void (*WbDedupeJournalFunc) (const char           *assignment_id,
                                     const WbDedupeRecord *record,
                                     gpointer              user_data);
char           *_wb_dedupe_journal_path        (const char      *path,
                                                gint64           gen);
void            _wb_dedupe_journal_append      (int             *fd,
                                                const char      *path,
                                                gint64           gen,
                                                const char      *assignment_id,
                                                const WbDedupeRecord *r);
GArray         *_wb_dedupe_journal_list        (const char      *path);
guint           _wb_dedupe_journal_replay      (const char      *path,
                                                gint64           gen,
                                                gint64           now_us,
                                                WbDedupeJournalFunc apply,
                                                gpointer         user_data);
void            _wb_dedupe_journal_delete_upto (const char      *path,
                                                gint64           upto);

G_END_DECLS
