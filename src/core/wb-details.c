/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-details.c: what a request says about its customer — name, vehicle, concern — parsed from
 * PostgREST's session and intake rows (wb-details.c); wb-detail-fetcher.c fetches them. */

#define G_LOG_DOMAIN "wb-details"

#include "config.h"

#include <string.h>

#include "wb-details.h"
#include "wb-details-private.h"
#include "wb-error.h"
#include "wb-json.h"
#include "wb-untrusted-text.h"

/* WbDetails: the boxed result and the pure parser of session rows (fuzzed). */

G_DEFINE_BOXED_TYPE (WbDetails, wb_details, wb_details_copy, wb_details_free)

WbDetails *
wb_details_copy (const WbDetails *d)
{
  WbDetails *c = g_new0 (WbDetails, 1);

  c->session_id = g_strdup (d->session_id);
  c->session_type = g_strdup (d->session_type);
  c->intake_id = g_strdup (d->intake_id);
  c->customer = g_strdup (d->customer);
  c->vehicle = g_strdup (d->vehicle);
  c->concern = g_strdup (d->concern);
  c->vehicle_year = d->vehicle_year;
  c->vehicle_make = g_strdup (d->vehicle_make);
  c->vehicle_model = g_strdup (d->vehicle_model);
  c->urgent = d->urgent;
  return c;
}

void
wb_details_free (WbDetails *d)
{
  if (d == NULL)
    return;
  g_free (d->session_id);
  g_free (d->session_type);
  g_free (d->intake_id);
  g_free (d->customer);
  g_free (d->vehicle);
  g_free (d->concern);
  g_free (d->vehicle_make);
  g_free (d->vehicle_model);
  g_free (d);
}

/* "2019 Honda Civic" from whichever parts are present; NULL if none. */
char *
wb_details_format_vehicle (gint64      year,
                           const char *make,
                           const char *model)
{
  GString *s = g_string_new (NULL);

  if (year > 0)
    g_string_append_printf (s, "%" G_GINT64_FORMAT, year);
  if (make != NULL && make[0] != '\0')
    g_string_append_printf (s, "%s%s", s->len ? " " : "", make);
  if (model != NULL && model[0] != '\0')
    g_string_append_printf (s, "%s%s", s->len ? " " : "", model);
  if (s->len == 0)
    {
      g_string_free (s, TRUE);
      return NULL;
    }
  return g_string_free (s, FALSE);
}

/* A vehicle year as a number or as text; 0 when absent, clamped to something printable. */
static gint64
year_member (JsonObject *obj,
             const char *member)
{
  const char *text;
  gint64 v = 0;

  if (!wb_json_get_number (obj, member, &v) && (text = wb_json_get_string (obj, member)) != NULL)
    v = g_ascii_strtoll (text, NULL, 10);
  return CLAMP (v, 0, 100000);
}

static char *
typed_text (JsonObject       *obj,
            const char       *member,
            WbUntrustedField  field)
{
  g_autofree char *text = wb_json_dup_text (obj, member);

  return wb_untrusted_text_clean_field (text, field);
}

JsonObject *
_wb_details_first_row (JsonNode *rows)
{
  if (rows == NULL)
    return NULL;
  if (JSON_NODE_HOLDS_OBJECT (rows))
    return json_node_get_object (rows);
  if (JSON_NODE_HOLDS_ARRAY (rows) && json_array_get_length (json_node_get_array (rows)) > 0)
    {
      JsonNode *n = json_array_get_element (json_node_get_array (rows), 0);

      if (JSON_NODE_HOLDS_OBJECT (n))
        return json_node_get_object (n);
    }
  return NULL;
}

/* Parses `sessions?select=id,type,intake_id,intake:intakes(...)` rows. Fails with
 * WB_ERROR_NOT_FOUND when there is no row or the intake is hidden (RLS) or missing, and
 * WB_ERROR_INVALID_DATA when the shape is wrong. */
WbDetails *
wb_details_parse (JsonNode  *rows,
                  GError   **error)
{
  g_autoptr(WbDetails) d = NULL;
  g_autofree char *vehicle = NULL;
  JsonObject *row;
  JsonObject *in;
  char *type_lc;

  if (rows == NULL || (!JSON_NODE_HOLDS_ARRAY (rows) && !JSON_NODE_HOLDS_OBJECT (rows)))
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA, "Session rows are not JSON rows");
      return NULL;
    }
  row = _wb_details_first_row (rows);
  if (row == NULL)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_NOT_FOUND, "Session not visible");
      return NULL;
    }
  d = g_new0 (WbDetails, 1);
  d->session_id = wb_json_dup_text (row, "id");
  if (d->session_id == NULL)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_INVALID_DATA, "Session row has no id");
      return NULL;
    }
  d->session_type = wb_json_dup_text (row, "type");
  d->intake_id = wb_json_dup_text (row, "intake_id");
  type_lc = d->session_type != NULL ? g_ascii_strdown (d->session_type, -1) : NULL;
  d->urgent = type_lc != NULL && (strstr (type_lc, "urgent") != NULL
                                  || strstr (type_lc, "emergency") != NULL);
  g_free (type_lc);

  in = wb_json_get_object (row, "intake");
  if (in == NULL)
    {
      g_set_error_literal (error, WB_ERROR, WB_ERROR_NOT_FOUND,
                           "Intake of the session is not visible (RLS) or missing");
      return NULL;
    }
  /* What the customer typed is cleaned and capped here, where it enters. */
  d->customer = typed_text (in, "name", WB_UNTRUSTED_FIELD_NAME);
  d->concern = typed_text (in, "concern", WB_UNTRUSTED_FIELD_CONCERN);
  d->vehicle_year = year_member (in, "vehicle_year");
  d->vehicle_make = typed_text (in, "vehicle_make", WB_UNTRUSTED_FIELD_VEHICLE);
  d->vehicle_model = typed_text (in, "vehicle_model", WB_UNTRUSTED_FIELD_VEHICLE);
  vehicle = wb_details_format_vehicle (d->vehicle_year, d->vehicle_make, d->vehicle_model);
  d->vehicle = wb_untrusted_text_clean_field (vehicle, WB_UNTRUSTED_FIELD_VEHICLE);
  return g_steal_pointer (&d);
}
