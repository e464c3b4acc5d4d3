/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-event.c: one normalised observation of a session assignment (see DESIGN.md). */

#define G_LOG_DOMAIN "wb-event"

#include "config.h"

#include <string.h>

#include "wb-event.h"

G_DEFINE_BOXED_TYPE (WbEvent, wb_event, wb_event_copy, wb_event_free)

WbEvent *
wb_event_new (WbEventKind   kind,
              WbEventSource source)
{
  WbEvent *self = g_new0 (WbEvent, 1);

  self->kind = kind;
  self->source = source;
  return self;
}

WbEvent *
wb_event_copy (const WbEvent *self)
{
  WbEvent *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = g_memdup2 (self, sizeof *self);
  copy->assignment_id = g_strdup (self->assignment_id);
  copy->session_id = g_strdup (self->session_id);
  copy->status = g_strdup (self->status);
  copy->old_status = g_strdup (self->old_status);
  copy->mechanic_id = g_strdup (self->mechanic_id);
  copy->customer = g_strdup (self->customer);
  copy->vehicle = g_strdup (self->vehicle);
  copy->concern = g_strdup (self->concern);
  return copy;
}

void
wb_event_free (WbEvent *self)
{
  if (self == NULL)
    return;

  g_free (self->assignment_id);
  g_free (self->session_id);
  g_free (self->status);
  g_free (self->old_status);
  g_free (self->mechanic_id);
  g_free (self->customer);
  g_free (self->vehicle);
  g_free (self->concern);
  g_free (self);
}

const char *
wb_event_kind_to_string (WbEventKind kind)
{
  switch (kind)
    {
    case WB_EVENT_QUEUED:        return "queued";
    case WB_EVENT_LEFT_QUEUE:    return "left_queue";
    case WB_EVENT_OTHER:         return "other";
    case WB_EVENT_NEEDS_CATCHUP: return "needs_catchup";
    default:                     return "unknown";
    }
}

const char *
wb_event_source_to_string (WbEventSource source)
{
  switch (source)
    {
    case WB_EVENT_SOURCE_BROADCAST:        return "broadcast";
    case WB_EVENT_SOURCE_POSTGRES_CHANGES: return "postgres_changes";
    case WB_EVENT_SOURCE_CATCHUP:          return "catchup";
    case WB_EVENT_SOURCE_DB_BROADCAST:     return "db_broadcast";
    default:                               return "unknown";
    }
}

/* Reads exactly @n decimal digits at *@p. */
static gboolean
read_digits (const char **p,
             guint        n,
             gint        *out)
{
  gint v = 0;

  for (guint i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit ((*p)[i]))
        return FALSE;
      v = v * 10 + ((*p)[i] - '0');
    }
  *p += n;
  *out = v;
  return TRUE;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static gint64
days_from_civil (gint y,
                 gint m,
                 gint d)
{
  gint64 era, yoe, doy, doe;

  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* Parses the timestamps PostgreSQL, Realtime and PostgREST produce into µs since the epoch:
 * "2026-11-20T10:00:00.120431+00:00", "2026-11-20T10:00:00.123Z", "2026-11-20 10:00:00.12+00",
 * "2026-11-20T10:00:00" (no zone: taken as UTC). Fractions beyond µs are truncated.
 * Returns FALSE (and leaves *@out_us alone) for anything else. */
gboolean
wb_event_parse_timestamp (const char *text,
                          gint64     *out_us)
{
  const char *p = text;
  gint year, month, day, hour, minute, second;
  gint64 frac = 0, offset_s = 0, days, us;
  static const guint8 mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

  if (text == NULL)
    return FALSE;

  if (!read_digits (&p, 4, &year) || *p++ != '-' ||
      !read_digits (&p, 2, &month) || *p++ != '-' ||
      !read_digits (&p, 2, &day))
    return FALSE;
  if (*p != 'T' && *p != 't' && *p != ' ')
    return FALSE;
  p++;
  if (!read_digits (&p, 2, &hour) || *p++ != ':' ||
      !read_digits (&p, 2, &minute) || *p++ != ':' ||
      !read_digits (&p, 2, &second))
    return FALSE;

  if (month < 1 || month > 12 || day < 1 || day > mdays[month - 1] ||
      hour > 23 || minute > 59 || second > 60)
    return FALSE;
  if (month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
    return FALSE;

  if (*p == '.' || *p == ',')
    {
      guint n = 0;

      p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      for (; g_ascii_isdigit (*p); p++, n++)
        if (n < 6)
          frac = frac * 10 + (*p - '0');
      for (; n < 6; n++)
        frac *= 10;
    }

  if (*p == 'Z' || *p == 'z')
    p++;
  else if (*p == '+' || *p == '-')
    {
      gint sign = *p++ == '-' ? -1 : 1;
      gint oh, om = 0;

      if (!read_digits (&p, 2, &oh))
        return FALSE;
      if (*p == ':')
        {
          p++;
          if (!read_digits (&p, 2, &om))
            return FALSE;
        }
      else if (g_ascii_isdigit (*p) && !read_digits (&p, 2, &om))
        return FALSE;
      if (oh > 15 || om > 59)
        return FALSE;
      offset_s = sign * (oh * 3600 + om * 60);
    }

  if (*p != '\0')
    return FALSE;

  days = days_from_civil (year, month, day);
  us = ((days * 86400 + hour * 3600 + minute * 60 + second) - offset_s) * G_USEC_PER_SEC + frac;
  *out_us = us;
  return TRUE;
}
