/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-details.h: what a request says about its customer — name, vehicle, concern — parsed from
 * PostgREST's session and intake rows (wb-details.c); wb-detail-fetcher.c fetches them. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct
{
  char     *session_id;
  char     *session_type;   /* (nullable) */
  char     *intake_id;      /* (nullable) */
  /* What the customer typed, cleaned and capped (wb-untrusted-text.h): escape before markup. */
  char     *customer;       /* (nullable) intakes.name */
  char     *vehicle;        /* (nullable) "2019 Honda Civic" from the parts present */
  char     *concern;        /* (nullable) */
  gint64    vehicle_year;   /* 0 if unknown */
  char     *vehicle_make;   /* (nullable) */
  char     *vehicle_model;  /* (nullable) */
  gboolean  urgent;         /* session type "urgent"/"emergency" */
} WbDetails;

#define WB_TYPE_DETAILS (wb_details_get_type ())
GType      wb_details_get_type       (void) G_GNUC_CONST;
WbDetails *wb_details_copy           (const WbDetails *details);
void       wb_details_free           (WbDetails       *details);
char      *wb_details_format_vehicle (gint64           year,
                                      const char      *make,
                                      const char      *model);
WbDetails *wb_details_parse          (JsonNode        *session_rows,
                                      GError         **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (WbDetails, wb_details_free)

G_END_DECLS
