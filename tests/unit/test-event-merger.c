#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "wb-event-merger.h"
#include "wb-event-normaliser.h"

typedef enum { EV, BEGIN, FINISH, RESTART, END } Op;

typedef struct
{
  Op            op;
  WbEventSource source;
  WbEventKind   kind;
  const char   *id;
  gint64        updated_at_us;
  WbMergeResult expect;
  guint         episode;
  const char   *queued;   /* FINISH: ids the query returned, comma separated */
  const char   *ended;    /* FINISH: ids expected to end, comma separated */
} Step;

#define PGQ(id, t, r, e) { EV, WB_EVENT_SOURCE_POSTGRES_CHANGES, WB_EVENT_QUEUED, id, t, WB_MERGE_##r, e }
#define PGL(id, t, r, e) { EV, WB_EVENT_SOURCE_POSTGRES_CHANGES, WB_EVENT_LEFT_QUEUE, id, t, WB_MERGE_##r, e }
#define PGO(id, t, r, e) { EV, WB_EVENT_SOURCE_POSTGRES_CHANGES, WB_EVENT_OTHER, id, t, WB_MERGE_##r, e }
#define BCQ(id, r, e)    { EV, WB_EVENT_SOURCE_BROADCAST, WB_EVENT_QUEUED, id, 0, WB_MERGE_##r, e }
#define BCX(r)           { EV, WB_EVENT_SOURCE_BROADCAST, WB_EVENT_NEEDS_CATCHUP, NULL, 0, WB_MERGE_##r, 0 }
#define CUQ(id, t, r, e) { EV, WB_EVENT_SOURCE_CATCHUP, WB_EVENT_QUEUED, id, t, WB_MERGE_##r, e }
#define CBEGIN           { BEGIN }
#define CFINISH(q, x)    { FINISH, 0, 0, NULL, 0, 0, 0, q, x }
#define CRESTART         { RESTART }
#define CEND             { END }

typedef struct
{
  const char *name;
  Step        steps[16];
} Scenario;

static const Scenario scenarios[] = {
  { "insert-then-broadcast-then-catchup-one-episode",
    { PGQ ("a", 10, NEW_EPISODE, 1), BCQ ("a", DUPLICATE, 1), CBEGIN, CUQ ("a", 10, DUPLICATE, 1),
      CFINISH ("a", ""), CEND } },
  { "broadcast-first-then-insert-one-episode",
    { BCQ ("a", NEW_EPISODE, 1), PGQ ("a", 10, DUPLICATE, 1), CUQ ("a", 10, DUPLICATE, 1), BCQ ("a", DUPLICATE, 1), CEND } },
  { "accepted-seen-before-queued-broadcast-no-alert",
    { PGL ("a", 20, IGNORED, 0), BCQ ("a", STALE, 0), CEND } },
  { "accepted-after-insert-then-late-broadcast",
    { PGQ ("a", 10, NEW_EPISODE, 1), PGL ("a", 20, ENDED, 1), BCQ ("a", STALE, 1), CEND } },
  { "decline-then-requeue-second-episode",
    { PGQ ("a", 10, NEW_EPISODE, 1), PGL ("a", 20, ENDED, 1), PGQ ("a", 30, NEW_EPISODE, 2),
      BCQ ("a", DUPLICATE, 2), PGL ("a", 40, ENDED, 2), CUQ ("a", 50, NEW_EPISODE, 3), CEND } },
  { "stale-catchup-row-older-than-seen-update",
    { PGQ ("a", 10, NEW_EPISODE, 1), PGL ("a", 20, ENDED, 1), CUQ ("a", 10, STALE, 1), CEND } },
  { "stale-left-queue-keeps-episode-open",
    { PGQ ("a", 30, NEW_EPISODE, 1), PGL ("a", 20, STALE, 1), BCQ ("a", DUPLICATE, 1), CEND } },
  { "restart-no-realert-of-open-alert-for-new",
    { PGQ ("a", 10, NEW_EPISODE, 1), PGQ ("b", 10, NEW_EPISODE, 1), PGL ("b", 20, ENDED, 1), CRESTART,
      CUQ ("a", 10, DUPLICATE, 1), BCQ ("a", DUPLICATE, 1), BCQ ("b", STALE, 1), CUQ ("c", 10, NEW_EPISODE, 1),
      BCQ ("d", NEW_EPISODE, 1), CEND } },
  { "catchup-withdraws-ended-not-opened-after-begin",
    { PGQ ("a", 10, NEW_EPISODE, 1), PGQ ("b", 10, NEW_EPISODE, 1), CBEGIN, PGQ ("c", 10, NEW_EPISODE, 1),
      CFINISH ("a", "b"), PGL ("b", 20, IGNORED, 1), BCQ ("b", STALE, 1), PGQ ("b", 30, NEW_EPISODE, 2), CEND } },
  { "catchup-after-restart-withdraws-missing",
    { PGQ ("a", 10, NEW_EPISODE, 1), BCQ ("b", NEW_EPISODE, 1), CRESTART, CBEGIN, CUQ ("b", 10, DUPLICATE, 1),
      CFINISH ("b", "a"), CEND } },
  { "delete-ends",
    { PGQ ("a", 10, NEW_EPISODE, 1), PGL ("a", 15, ENDED, 1), CUQ ("a", 10, STALE, 1), BCQ ("a", STALE, 1), CEND } },
  { "delete-without-any-time-ends",
    { CUQ ("a", 10, NEW_EPISODE, 1), PGL ("a", 0, ENDED, 1), CEND } },
  { "left-queue-never-seen-then-requeued",
    { PGL ("a", 20, IGNORED, 0), CUQ ("a", 30, NEW_EPISODE, 1), CEND } },
  { "other-update-orders-later-rows",
    { PGQ ("a", 10, NEW_EPISODE, 1), PGL ("a", 12, ENDED, 1), PGO ("a", 15, IGNORED, 1), CUQ ("a", 14, STALE, 1),
      PGO ("zz", 15, IGNORED, 0), BCQ ("zz", NEW_EPISODE, 1), CEND } },
  { "broadcast-without-id-needs-catchup",
    { BCX (NEEDS_CATCHUP), BCQ (NULL, NEEDS_CATCHUP, 0), PGL (NULL, 5, NEEDS_CATCHUP, 0), CEND } },
  { "two-catchups-in-flight",
    { PGQ ("a", 10, NEW_EPISODE, 1), CBEGIN, PGQ ("b", 10, NEW_EPISODE, 1), CFINISH ("", "a"),
      CBEGIN, CFINISH ("", "b"), CEND } },
};

typedef struct
{
  char          *dir;
  char          *path;
  WbDedupeSet   *set;
  WbEventMerger *merger;
} Harness;

static void
harness_open (Harness *h)
{
  h->set = wb_dedupe_set_new (h->path);
  g_assert_false (wb_dedupe_set_get_recovered_from_corruption (h->set));
  h->merger = wb_event_merger_new (h->set);
}

static void
harness_close (Harness *h)
{
  g_assert_true (wb_dedupe_set_flush (h->set, NULL));
  g_assert_finalize_object (h->merger);
  g_assert_finalize_object (h->set);
  h->merger = NULL;
  h->set = NULL;
}

static void
harness_init (Harness *h)
{
  h->dir = g_dir_make_tmp ("wb-merger-XXXXXX", NULL);
  g_assert_nonnull (h->dir);
  h->path = g_build_filename (h->dir, "dedupe-set.json", NULL);
  harness_open (h);
}

static void
harness_clear (Harness *h)
{
  harness_close (h);
  g_unlink (h->path);
  g_assert_cmpint (g_rmdir (h->dir), ==, 0);
  g_free (h->path);
  g_free (h->dir);
}

static char *
join_sorted (GPtrArray *ids)
{
  g_autoptr(GPtrArray) copy = g_ptr_array_new ();

  for (guint i = 0; i < ids->len; i++)
    g_ptr_array_add (copy, g_ptr_array_index (ids, i));
  g_ptr_array_sort (copy, (GCompareFunc) g_strcmp0);
  g_ptr_array_add (copy, NULL);
  return g_strjoinv (",", (char **) copy->pdata);
}

static void
test_scenarios (void)
{
  for (guint s = 0; s < G_N_ELEMENTS (scenarios); s++)
    {
      const Scenario *sc = &scenarios[s];
      Harness h = { 0 };
      gint64 token = 0;

      g_test_message ("scenario %s", sc->name);
      harness_init (&h);
      for (guint i = 0; sc->steps[i].op != END; i++)
        {
          const Step *st = &sc->steps[i];

          switch (st->op)
            {
            case EV:
              {
                g_autoptr(WbEvent) ev = wb_event_new (st->kind, st->source);
                guint episode = 999;
                WbMergeResult r;

                ev->assignment_id = g_strdup (st->id);
                ev->updated_at_us = st->updated_at_us;
                r = wb_event_merger_offer (h.merger, ev, &episode);
                g_test_message ("  step %u: %s %s %s → %s (episode %u)", i,
                                wb_event_source_to_string (st->source), wb_event_kind_to_string (st->kind),
                                st->id, wb_merge_result_to_string (r), episode);
                g_assert_cmpstr (wb_merge_result_to_string (r), ==, wb_merge_result_to_string (st->expect));
                g_assert_cmpuint (episode, ==, st->episode);
              }
              break;

            case BEGIN:
              token = wb_event_merger_begin_catchup (h.merger);
              break;

            case FINISH:
              {
                g_auto(GStrv) q = g_strsplit (st->queued, ",", -1);
                g_autoptr(GPtrArray) queued = g_ptr_array_new ();
                g_autoptr(GPtrArray) ended = NULL;
                g_autofree char *got = NULL;

                for (guint k = 0; q[k] != NULL; k++)
                  if (*q[k])
                    g_ptr_array_add (queued, q[k]);
                ended = wb_event_merger_finish_catchup (h.merger, token, queued);
                got = join_sorted (ended);
                g_assert_cmpstr (got, ==, st->ended);
              }
              break;

            case RESTART:
              harness_close (&h);
              harness_open (&h);
              break;

            case END:
            default:
              g_assert_not_reached ();
            }
        }
      harness_clear (&h);
    }
}

static void
test_duplicate_counters (void)
{
  Harness h = { 0 };
  g_autoptr(WbEvent) pg = wb_event_new (WB_EVENT_QUEUED, WB_EVENT_SOURCE_POSTGRES_CHANGES);
  g_autoptr(WbEvent) bc = NULL;
  g_autoptr(WbEvent) cu = NULL;

  harness_init (&h);
  pg->assignment_id = g_strdup ("a");
  pg->updated_at_us = 10;
  bc = wb_event_copy (pg);
  bc->source = WB_EVENT_SOURCE_BROADCAST;
  bc->updated_at_us = 0;
  cu = wb_event_copy (pg);
  cu->source = WB_EVENT_SOURCE_CATCHUP;

  g_assert_cmpint (wb_event_merger_offer (h.merger, pg, NULL), ==, WB_MERGE_NEW_EPISODE);
  g_assert_cmpint (wb_event_merger_offer (h.merger, bc, NULL), ==, WB_MERGE_DUPLICATE);
  g_assert_cmpint (wb_event_merger_offer (h.merger, bc, NULL), ==, WB_MERGE_DUPLICATE);
  g_assert_cmpint (wb_event_merger_offer (h.merger, cu, NULL), ==, WB_MERGE_DUPLICATE);
  g_assert_cmpuint (wb_event_merger_get_duplicates (h.merger, WB_EVENT_SOURCE_BROADCAST), ==, 2);
  g_assert_cmpuint (wb_event_merger_get_duplicates (h.merger, WB_EVENT_SOURCE_CATCHUP), ==, 1);
  g_assert_cmpuint (wb_event_merger_get_duplicates (h.merger, WB_EVENT_SOURCE_POSTGRES_CHANGES), ==, 0);
  g_assert_cmpuint (wb_event_merger_get_duplicates_total (h.merger), ==, 3);
  g_assert_true (wb_event_merger_get_dedupe_set (h.merger) == h.set);
  harness_clear (&h);
}

/* Declined and queued again while we saw neither change (socket down, app closed): the catch-up
 * row's newer offered_at is a new episode; the same offered_at again is a duplicate. */
static void
test_requeue_seen_only_by_catchup (void)
{
  Harness h = { 0 };
  g_autoptr(WbEvent) pg = wb_event_new (WB_EVENT_QUEUED, WB_EVENT_SOURCE_POSTGRES_CHANGES);
  g_autoptr(WbEvent) cu = NULL;
  g_autoptr(WbEvent) edit = NULL;
  guint episode = 0;

  harness_init (&h);
  pg->assignment_id = g_strdup ("a");
  pg->updated_at_us = 10;
  pg->queued_at_us = 10;
  g_assert_cmpint (wb_event_merger_offer (h.merger, pg, &episode), ==, WB_MERGE_NEW_EPISODE);
  g_assert_cmpuint (episode, ==, 1);

  /* An edit while queued (same offered_at, newer updated_at) is the same episode. */
  edit = wb_event_copy (pg);
  edit->source = WB_EVENT_SOURCE_CATCHUP;
  edit->updated_at_us = 20;
  g_assert_cmpint (wb_event_merger_offer (h.merger, edit, &episode), ==, WB_MERGE_DUPLICATE);
  g_assert_cmpuint (episode, ==, 1);

  cu = wb_event_copy (pg);
  cu->source = WB_EVENT_SOURCE_CATCHUP;
  cu->updated_at_us = 40;
  cu->queued_at_us = 40;
  g_assert_cmpint (wb_event_merger_offer (h.merger, cu, &episode), ==, WB_MERGE_NEW_EPISODE);
  g_assert_cmpuint (episode, ==, 2);
  g_assert_cmpint (wb_event_merger_offer (h.merger, cu, &episode), ==, WB_MERGE_DUPLICATE);
  g_assert_cmpuint (episode, ==, 2);

  /* The marker survives a restart (the persisted set). */
  g_assert_cmpint (wb_dedupe_set_lookup (h.set, "a")->queued_at_us, ==, 40);
  harness_clear (&h);
}

static WbEvent *
pg_event (const char *json)
{
  g_autoptr(JsonNode) node = json_from_string (json, NULL);

  return wb_event_from_postgres_change (json_node_get_object (node), 0, 0, NULL);
}

/* Through the normaliser: the shapes the server really sends, with a DELETE carrying only the id. */
static void
test_end_to_end (void)
{
  Harness h = { 0 };
  g_autoptr(WbEvent) insert = NULL;
  g_autoptr(WbEvent) broadcast = NULL;
  g_autoptr(WbEvent) del = NULL;
  g_autoptr(WbEvent) row = NULL;
  g_autoptr(JsonNode) payload = NULL;
  g_autoptr(JsonNode) row_node = NULL;
  guint episode = 0;

  harness_init (&h);
  insert = pg_event ("{\"schema\":\"public\",\"table\":\"session_assignments\",\"type\":\"insert\","
                     "\"commit_timestamp\":\"2026-11-20T10:00:00.123Z\",\"record\":{\"id\":"
                     "\"0B9E8A5C-1F2D-4C3B-9A8E-7D6C5B4A3F21\",\"status\":\"queued\","
                     "\"updated_at\":\"2026-11-20T10:00:00.120431+00:00\"},\"errors\":null}");
  payload = json_from_string ("{\"assignmentId\":\"0b9e8a5c-1f2d-4c3b-9a8e-7d6c5b4a3f21\"}", NULL);
  broadcast = wb_event_from_broadcast ("new_assignment", payload, 0, 0, NULL);
  del = pg_event ("{\"schema\":\"public\",\"table\":\"session_assignments\",\"type\":\"DELETE\","
                  "\"commit_timestamp\":\"2026-11-20T10:01:00.000Z\","
                  "\"old_record\":{\"id\":\"0b9e8a5c-1f2d-4c3b-9a8e-7d6c5b4a3f21\"},\"errors\":null}");
  row_node = json_from_string ("{\"id\":\"0b9e8a5c-1f2d-4c3b-9a8e-7d6c5b4a3f21\",\"status\":\"queued\","
                               "\"updated_at\":\"2026-11-20T10:00:00.120431+00:00\"}", NULL);
  row = wb_event_from_catchup_row (json_node_get_object (row_node), 0, 0, NULL);

  g_assert_cmpint (wb_event_merger_offer (h.merger, broadcast, &episode), ==, WB_MERGE_NEW_EPISODE);
  g_assert_cmpuint (episode, ==, 1);
  g_assert_cmpint (wb_event_merger_offer (h.merger, insert, &episode), ==, WB_MERGE_DUPLICATE);
  g_assert_cmpint (wb_event_merger_offer (h.merger, del, &episode), ==, WB_MERGE_ENDED);
  /* A catch-up answer that was read before the delete, arriving after it. */
  g_assert_cmpint (wb_event_merger_offer (h.merger, row, &episode), ==, WB_MERGE_STALE);
  g_assert_cmpint (wb_event_merger_offer (h.merger, broadcast, &episode), ==, WB_MERGE_STALE);
  harness_clear (&h);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wb/event-merger/scenarios", test_scenarios);
  g_test_add_func ("/wb/event-merger/duplicate-counters", test_duplicate_counters);
  g_test_add_func ("/wb/event-merger/end-to-end", test_end_to_end);
  g_test_add_func ("/wb/event-merger/requeue-seen-only-by-catchup", test_requeue_seen_only_by_catchup);
  return g_test_run ();
}
