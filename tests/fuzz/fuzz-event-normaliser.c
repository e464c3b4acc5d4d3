/* libFuzzer target: input bytes as JSON, fed to every normaliser entry point and the merger. */
#include "config.h"

#include <string.h>

#include "wb-event-merger.h"
#include "wb-event-normaliser.h"
#include "wb-json.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
check_event (WbEvent *ev)
{
  g_autoptr(WbEvent) copy = NULL;

  if (ev == NULL)
    return;
  g_assert_true (ev->kind <= WB_EVENT_NEEDS_CATCHUP);
  if (ev->kind == WB_EVENT_QUEUED || ev->kind == WB_EVENT_LEFT_QUEUE)
    g_assert_true (ev->assignment_id != NULL && *ev->assignment_id != '\0');
  if (ev->source == WB_EVENT_SOURCE_BROADCAST && ev->assignment_id != NULL)
    g_assert_true (wb_event_id_looks_like_uuid (ev->assignment_id));
  if (ev->source == WB_EVENT_SOURCE_CATCHUP)
    g_assert_true (ev->kind != WB_EVENT_NEEDS_CATCHUP);
  copy = wb_event_copy (ev);
}

static void
check_text (const char *text)
{
  if (text == NULL)
    return;
  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_cmpuint (strlen (text), <=, WB_EVENT_MAX_TEXT_BYTES);
  g_assert_cmpstr (text, !=, "undefined");
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  static WbEventMerger *merger = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(WbEvent) pg = NULL;
  g_autoptr(WbEvent) bc = NULL;
  g_autoptr(WbEvent) legacy = NULL;
  g_autoptr(WbEvent) row = NULL;
  JsonObject *obj = NULL;

  if (merger == NULL)
    {
      g_autoptr(WbDedupeSet) set = wb_dedupe_set_new ("");
      merger = wb_event_merger_new (set);
    }

  /* What the channel hands over came through wb_json_parse() (bounded size and depth). */
  if (size > 256 * 1024)
    return 0;
  root = wb_json_parse ((const char *) data, size, 64, NULL);
  if (root == NULL)
    return 0;
  if (JSON_NODE_HOLDS_OBJECT (root))
    obj = json_node_get_object (root);

  pg = wb_event_from_postgres_change (obj, 1, 2, NULL);
  bc = wb_event_from_broadcast ("new_assignment", root, 1, 2, NULL);
  legacy = wb_event_from_broadcast ("NEW_REQUEST", root, 1, 2, NULL);
  row = wb_event_from_catchup_row (obj, 1, 2, NULL);

  check_event (pg);
  check_event (bc);
  check_event (legacy);
  check_event (row);
  for (WbEvent **e = (WbEvent *[]) { pg, bc, legacy, row }, **end = e + 4; e < end; e++)
    if (*e != NULL)
      {
        check_text ((*e)->customer);
        check_text ((*e)->vehicle);
        check_text ((*e)->concern);
        wb_event_merger_offer (merger, *e, NULL);
      }
  return 0;
}
