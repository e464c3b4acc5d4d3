/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-startup-times.c: see the header. Process-wide (there is one start-up per process); every
 * call comes from the main thread. */
#define G_LOG_DOMAIN "wb-startup-times"

#include "config.h"

#include <glib/gstdio.h>

#include "wb-json.h"
#include "wb-startup-times.h"

#define MAX_MARKS 16

typedef struct
{
  const char *name;   /* a string literal of the caller's */
  gint64      at_us;
} Mark;

static struct
{
  gboolean    begun;
  gboolean    written;
  char       *mode;
  GStrv       awaited;
  Mark        marks[MAX_MARKS];
  guint       n_marks;
} st;

gboolean
wb_startup_times_is_enabled (void)
{
  const char *path = g_getenv ("WB_STARTUP_TIMES");

  return path != NULL && *path != '\0';
}

static const Mark *
find (const char *name)
{
  for (guint i = 0; i < st.n_marks; i++)
    if (g_strcmp0 (st.marks[i].name, name) == 0)
      return &st.marks[i];
  return NULL;
}

char *
wb_startup_times_to_json (void)
{
  g_autoptr(GString) s = g_string_new ("{\"mode\":");

  wb_json_append_string (s, st.mode != NULL ? st.mode : "");
  for (guint i = 0; i < st.n_marks; i++)
    {
      g_string_append_c (s, ',');
      wb_json_append_string (s, st.marks[i].name);
      g_string_append_printf (s, ":%" G_GINT64_FORMAT, st.marks[i].at_us);
    }
  g_string_append_c (s, '}');
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
write_line (void)
{
  const char *path = g_getenv ("WB_STARTUP_TIMES");
  g_autofree char *line = wb_startup_times_to_json ();
  g_autofree char *text = g_strconcat (line, "\n", NULL);
  g_autoptr(GError) error = NULL;

  st.written = TRUE;
  /* g_file_set_contents writes aside and renames: the reader sees all of it or nothing. */
  if (!g_file_set_contents (path, text, -1, &error))
    g_warning ("WB_STARTUP_TIMES: %s", error->message);
}

static void
maybe_write (void)
{
  if (!st.begun || st.written)
    return;
  for (guint i = 0; st.awaited[i] != NULL; i++)
    if (find (st.awaited[i]) == NULL)
      return;
  write_line ();
}

void
wb_startup_times_begin (const char        *mode,
                        const char *const *awaited)
{
  if (!wb_startup_times_is_enabled () || st.begun)
    return;
  st.begun = TRUE;
  st.mode = g_strdup (mode);
  st.awaited = g_strdupv ((char **) awaited);
  maybe_write ();
}

void
wb_startup_times_mark (const char *name)
{
  if (!wb_startup_times_is_enabled () || st.written || find (name) != NULL || st.n_marks == MAX_MARKS)
    return;
  st.marks[st.n_marks].name = g_intern_string (name);
  st.marks[st.n_marks].at_us = g_get_monotonic_time ();
  st.n_marks++;
  maybe_write ();
}
