/* test-alert-dispatcher.c: the dispatcher's isolation, skipping, DND, repeat and withdraw logic,
 * with fake tiers (the real tiers are exercised by test-alert-tiers.py). */
#include "config.h"

#include "wb-alert-dispatcher.h"
#include "wb-alert-notification.h"
#include "wb-alert-toast.h"

typedef enum { FAKE_OK, FAKE_SKIP, FAKE_FAIL, FAKE_HANG } FakeMode;

#define FAKE_TYPE_TIER (fake_tier_get_type ())
G_DECLARE_FINAL_TYPE (FakeTier, fake_tier, FAKE, TIER, GObject)

struct _FakeTier
{
  GObject    parent_instance;
  WbTier     tier;
  FakeMode   mode;
  guint      fired;
  guint      withdrawn;
  guint      acknowledged;
  GPtrArray *hung;    /* tasks never answered (until teardown) */
  GPtrArray *kinds;   /* WbAlertKind of each fire, as GUINT_TO_POINTER */
};

static void fake_tier_iface_init (WbAlertTierInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (FakeTier, fake_tier, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (WB_TYPE_ALERT_TIER, fake_tier_iface_init))

static WbTier
fake_get_tier (WbAlertTier *tier)
{
  return FAKE_TIER (tier)->tier;
}

static void
fake_fire_async (WbAlertTier         *tier,
                 const WbAlertRecord *record,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  FakeTier *self = FAKE_TIER (tier);
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, user_data);

  self->fired++;
  g_ptr_array_add (self->kinds, GUINT_TO_POINTER (record->kind));
  switch (self->mode)
    {
    case FAKE_OK:
      wb_alert_tier_task_return (task, WB_TIER_RESULT_OK, NULL);
      break;
    case FAKE_SKIP:
      wb_alert_tier_task_return (task, WB_TIER_RESULT_SKIPPED, "fake skip");
      break;
    case FAKE_FAIL:
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "boom");
      break;
    case FAKE_HANG:
    default:
      g_ptr_array_add (self->hung, g_steal_pointer (&task));
      break;
    }
}

static WbTierResult
fake_fire_finish (WbAlertTier   *tier,
                  GAsyncResult  *result,
                  char         **reason,
                  GError       **error)
{
  return wb_alert_tier_task_finish (result, reason, error);
}

static void
fake_withdraw (WbAlertTier *tier,
               const char  *id)
{
  FAKE_TIER (tier)->withdrawn++;
}

static void
fake_acknowledge (WbAlertTier *tier,
                  const char  *id)
{
  FAKE_TIER (tier)->acknowledged++;
}

static void
fake_tier_iface_init (WbAlertTierInterface *iface)
{
  iface->get_tier = fake_get_tier;
  iface->fire_async = fake_fire_async;
  iface->fire_finish = fake_fire_finish;
  iface->withdraw = fake_withdraw;
  iface->acknowledge = fake_acknowledge;
}

static void
fake_tier_finalize (GObject *object)
{
  FakeTier *self = FAKE_TIER (object);

  g_ptr_array_unref (self->hung);
  g_ptr_array_unref (self->kinds);
  G_OBJECT_CLASS (fake_tier_parent_class)->finalize (object);
}

static void
fake_tier_class_init (FakeTierClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = fake_tier_finalize;
}

static void
fake_tier_init (FakeTier *self)
{
  self->hung = g_ptr_array_new_with_free_func (g_object_unref);
  self->kinds = g_ptr_array_new ();
}

/* ------------------------------------------------------------------------------------------ */

typedef struct
{
  WbAlertDispatcher *dispatcher;
  FakeTier          *tiers[WB_N_TIERS];
  GPtrArray         *done;          /* WbAlertRecord copies from done callbacks */
  GPtrArray         *record_done;   /* from the record-done signal */
  guint              failed_signals;
} Fixture;

static void
on_done_cb (WbAlertDispatcher *dispatcher,
            WbAlertRecord     *record,
            gpointer           user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->done, wb_alert_record_copy (record));
}

static void
on_record_done_cb (WbAlertDispatcher *dispatcher,
                   WbAlertRecord     *record,
                   Fixture           *f)
{
  g_ptr_array_add (f->record_done, wb_alert_record_copy (record));
}

static void
on_tier_failed_cb (WbAlertDispatcher *dispatcher,
                   guint              tier,
                   const char        *reason,
                   Fixture           *f)
{
  g_assert_cmpuint (tier, <, WB_N_TIERS);
  g_assert_nonnull (reason);
  f->failed_signals++;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->dispatcher = wb_alert_dispatcher_new ();
  f->done = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_alert_record_free);
  f->record_done = g_ptr_array_new_with_free_func ((GDestroyNotify) wb_alert_record_free);
  for (guint i = 0; i < WB_N_TIERS; i++)
    {
      f->tiers[i] = g_object_new (FAKE_TYPE_TIER, NULL);
      f->tiers[i]->tier = i;
      wb_alert_dispatcher_add_tier (f->dispatcher, WB_ALERT_TIER (f->tiers[i]));
    }
  g_signal_connect (f->dispatcher, "record-done", G_CALLBACK (on_record_done_cb), f);
  g_signal_connect (f->dispatcher, "tier-failed", G_CALLBACK (on_tier_failed_cb), f);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_assert_finalize_object (f->dispatcher);
  for (guint i = 0; i < WB_N_TIERS; i++)
    {
      /* Answer the hung tasks now, after the dispatcher gave up on them long ago. */
      for (guint j = 0; j < f->tiers[i]->hung->len; j++)
        wb_alert_tier_task_return (g_ptr_array_index (f->tiers[i]->hung, j), WB_TIER_RESULT_OK, NULL);
      g_ptr_array_set_size (f->tiers[i]->hung, 0);
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_assert_finalize_object (f->tiers[i]);
    }
  g_ptr_array_unref (f->done);
  g_ptr_array_unref (f->record_done);
}

static gboolean
timeout_flag_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
spin (guint ms)
{
  gboolean over = FALSE;

  g_timeout_add (ms, timeout_flag_cb, &over);
  while (!over)
    g_main_context_iteration (NULL, TRUE);
}

static void
wait_for_done (Fixture *f,
               guint    n,
               guint    max_ms)
{
  gboolean over = FALSE;
  guint id = g_timeout_add (max_ms, timeout_flag_cb, &over);

  while (f->done->len < n && !over)
    g_main_context_iteration (NULL, TRUE);
  if (!over)
    g_source_remove (id);
  g_assert_cmpuint (f->done->len, ==, n);
}

static WbAlertRecord *
make_record (WbAlertKind  kind,
             const char  *id,
             gboolean     urgent)
{
  WbAlertRecord *r = wb_alert_record_new (kind, id);

  r->source = "test";
  r->customer = g_strdup ("Bob");
  r->urgent = urgent;
  return r;
}

static WbAlertRecord *
done_record (Fixture *f,
             guint    i)
{
  return g_ptr_array_index (f->done, i);
}

static void
test_all_ok (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(WbAlertRecord) r = make_record (WB_ALERT_KIND_ALERT, "a1", FALSE);
  WbAlertRecord *out;

  wb_alert_dispatcher_dispatch (f->dispatcher, r, on_done_cb, f);
  wait_for_done (f, 1, 1000);
  out = done_record (f, 0);
  for (guint i = 0; i < WB_N_TIERS; i++)
    {
      g_assert_cmpint (out->tier_result[i], ==, WB_TIER_RESULT_OK);
      g_assert_cmpuint (f->tiers[i]->fired, ==, 1);
    }
  g_assert_cmpint (out->alerted_us, >, 0);
  g_assert_cmpuint (f->record_done->len, ==, 1);
  g_assert_cmpuint (wb_alert_dispatcher_get_n_unacknowledged (f->dispatcher), ==, 1);
}

/* Seed issue 5: one tier erroring and one never answering; the others still ring, at once. */
static void
test_isolation (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(WbAlertRecord) r = make_record (WB_ALERT_KIND_ALERT, "a1", FALSE);
  g_autofree char *line = NULL;
  WbAlertRecord *out;
  gint64 start = g_get_monotonic_time ();
  gint64 took;

  f->tiers[WB_TIER_TOAST]->mode = FAKE_FAIL;
  f->tiers[WB_TIER_SOUND]->mode = FAKE_HANG;
  wb_alert_dispatcher_set_tier_timeout (f->dispatcher, 200);

  wb_alert_dispatcher_dispatch (f->dispatcher, r, on_done_cb, f);
  /* The working tiers were started synchronously, not after the broken ones. */
  g_assert_cmpuint (f->tiers[WB_TIER_NOTIFICATION]->fired, ==, 1);
  g_assert_cmpuint (f->tiers[WB_TIER_TRAY]->fired, ==, 1);
  wait_for_done (f, 1, 2000);
  took = (g_get_monotonic_time () - start) / 1000;
  g_assert_cmpint (took, >=, 190);
  g_assert_cmpint (took, <, 1000);

  out = done_record (f, 0);
  g_assert_cmpint (out->tier_result[WB_TIER_TOAST], ==, WB_TIER_RESULT_FAILED);
  g_assert_cmpstr (out->tier_reason[WB_TIER_TOAST], ==, "boom");
  g_assert_cmpint (out->tier_result[WB_TIER_SOUND], ==, WB_TIER_RESULT_FAILED);
  g_assert_cmpstr (out->tier_reason[WB_TIER_SOUND], ==, "timeout");
  g_assert_cmpint (out->tier_result[WB_TIER_NOTIFICATION], ==, WB_TIER_RESULT_OK);
  g_assert_cmpint (out->tier_result[WB_TIER_TRAY], ==, WB_TIER_RESULT_OK);
  g_assert_cmpuint (f->failed_signals, ==, 2);

  line = wb_alert_record_to_json_line (out);
  g_assert_nonnull (strstr (line, "\"sound\":\"failed: timeout\""));
  g_assert_nonnull (strstr (line, "\"toast\":\"failed: boom\""));
  g_assert_nonnull (strstr (line, "\"notification\":\"ok\""));

  /* The next record is not held up by the hung tier either. */
  wb_alert_dispatcher_dispatch (f->dispatcher, r, on_done_cb, f);
  wait_for_done (f, 2, 2000);
  g_assert_cmpint (done_record (f, 1)->tier_result[WB_TIER_TRAY], ==, WB_TIER_RESULT_OK);
}

static gboolean
filter_no_notification (WbTier               tier,
                        const WbAlertRecord *record,
                        char               **reason,
                        gpointer             user_data)
{
  if (tier != WB_TIER_NOTIFICATION)
    return TRUE;
  *reason = g_strdup ("flag mech_browser_notifications off");
  return FALSE;
}

static void
test_disabled (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(WbAlertRecord) r = make_record (WB_ALERT_KIND_ALERT, "a1", FALSE);
  g_autofree char *line = NULL;
  WbAlertRecord *out;

  g_object_set (f->dispatcher, "tier-sound", FALSE, NULL);
  wb_alert_dispatcher_set_tier_filter (f->dispatcher, filter_no_notification, NULL, NULL);
  f->tiers[WB_TIER_TRAY]->mode = FAKE_SKIP;

  wb_alert_dispatcher_dispatch (f->dispatcher, r, on_done_cb, f);
  wait_for_done (f, 1, 1000);
  out = done_record (f, 0);
  g_assert_cmpint (out->tier_result[WB_TIER_TOAST], ==, WB_TIER_RESULT_OK);
  g_assert_cmpint (out->tier_result[WB_TIER_SOUND], ==, WB_TIER_RESULT_SKIPPED);
  g_assert_cmpstr (out->tier_reason[WB_TIER_SOUND], ==, "disabled");
  g_assert_cmpint (out->tier_result[WB_TIER_NOTIFICATION], ==, WB_TIER_RESULT_SKIPPED);
  g_assert_cmpstr (out->tier_reason[WB_TIER_NOTIFICATION], ==, "flag mech_browser_notifications off");
  g_assert_cmpint (out->tier_result[WB_TIER_TRAY], ==, WB_TIER_RESULT_SKIPPED);
  g_assert_cmpstr (out->tier_reason[WB_TIER_TRAY], ==, "fake skip");
  g_assert_cmpuint (f->tiers[WB_TIER_SOUND]->fired, ==, 0);
  g_assert_cmpuint (f->tiers[WB_TIER_NOTIFICATION]->fired, ==, 0);
  g_assert_cmpuint (f->failed_signals, ==, 0);
  line = wb_alert_record_to_json_line (out);
  g_assert_nonnull (strstr (line, "\"sound\":\"skipped\""));
}

static void
test_dnd (Fixture       *f,
          gconstpointer  data)
{
  g_autoptr(WbAlertRecord) plain = make_record (WB_ALERT_KIND_ALERT, "a1", FALSE);
  g_autoptr(WbAlertRecord) urgent = make_record (WB_ALERT_KIND_ALERT, "a2", TRUE);
  WbAlertRecord *out;

  g_object_set (f->dispatcher, "do-not-disturb", TRUE, NULL);

  wb_alert_dispatcher_dispatch (f->dispatcher, plain, on_done_cb, f);
  wait_for_done (f, 1, 1000);
  out = done_record (f, 0);
  g_assert_cmpint (out->tier_result[WB_TIER_TOAST], ==, WB_TIER_RESULT_OK);
  g_assert_cmpint (out->tier_result[WB_TIER_TRAY], ==, WB_TIER_RESULT_OK);
  g_assert_cmpint (out->tier_result[WB_TIER_SOUND], ==, WB_TIER_RESULT_SKIPPED);
  g_assert_cmpstr (out->tier_reason[WB_TIER_SOUND], ==, "do not disturb");
  g_assert_cmpint (out->tier_result[WB_TIER_NOTIFICATION], ==, WB_TIER_RESULT_SKIPPED);

  /* Urgent pierces DND (the default)… */
  wb_alert_dispatcher_dispatch (f->dispatcher, urgent, on_done_cb, f);
  wait_for_done (f, 2, 1000);
  out = done_record (f, 1);
  g_assert_cmpint (out->tier_result[WB_TIER_SOUND], ==, WB_TIER_RESULT_OK);
  g_assert_cmpint (out->tier_result[WB_TIER_NOTIFICATION], ==, WB_TIER_RESULT_OK);

  /* …unless the mechanic said otherwise. */
  g_object_set (f->dispatcher, "urgent-pierces-dnd", FALSE, NULL);
  wb_alert_dispatcher_dispatch (f->dispatcher, urgent, on_done_cb, f);
  wait_for_done (f, 3, 1000);
  out = done_record (f, 2);
  g_assert_cmpint (out->tier_result[WB_TIER_SOUND], ==, WB_TIER_RESULT_SKIPPED);
  g_assert_cmpint (out->tier_result[WB_TIER_NOTIFICATION], ==, WB_TIER_RESULT_SKIPPED);
}

static guint
count_kind (Fixture     *f,
            WbAlertKind  kind)
{
  guint n = 0;

  for (guint i = 0; i < f->record_done->len; i++)
    if (((WbAlertRecord *) g_ptr_array_index (f->record_done, i))->kind == kind)
      n++;
  return n;
}

static void
test_repeat_until_acknowledged (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(WbAlertRecord) r = make_record (WB_ALERT_KIND_ALERT, "a1", FALSE);
  g_autoptr(WbAlertRecord) update = make_record (WB_ALERT_KIND_UPDATE, "a1", FALSE);
  guint repeats;
  WbAlertRecord *last;

  _wb_alert_dispatcher_set_repeat_interval_ms (f->dispatcher, 100);
  wb_alert_dispatcher_dispatch (f->dispatcher, r, on_done_cb, f);
  g_free (update->customer);
  update->customer = g_strdup ("Bob Smith");
  wb_alert_dispatcher_dispatch (f->dispatcher, update, on_done_cb, f);
  spin (450);
  repeats = count_kind (f, WB_ALERT_KIND_REPEAT);
  g_assert_cmpuint (repeats, >=, 3);
  g_assert_cmpuint (repeats, <=, 5);
  /* Reminders carry the updated text. */
  last = g_ptr_array_index (f->record_done, f->record_done->len - 1);
  g_assert_cmpint (last->kind, ==, WB_ALERT_KIND_REPEAT);
  g_assert_cmpstr (last->customer, ==, "Bob Smith");
  g_assert_cmpint (last->tier_result[WB_TIER_SOUND], ==, WB_TIER_RESULT_OK);
  g_assert_cmpuint (GPOINTER_TO_UINT (g_ptr_array_index (f->tiers[WB_TIER_SOUND]->kinds, 2)), ==,
                    WB_ALERT_KIND_REPEAT);

  wb_alert_dispatcher_acknowledge (f->dispatcher, "a1");
  g_assert_cmpuint (f->tiers[WB_TIER_TRAY]->acknowledged, ==, 1);
  g_assert_cmpuint (wb_alert_dispatcher_get_n_unacknowledged (f->dispatcher), ==, 0);
  repeats = count_kind (f, WB_ALERT_KIND_REPEAT);
  spin (350);
  g_assert_cmpuint (count_kind (f, WB_ALERT_KIND_REPEAT), ==, repeats);

  /* 0 = off. */
  wb_alert_dispatcher_set_repeat_interval (f->dispatcher, 0);
  wb_alert_dispatcher_dispatch (f->dispatcher, r, on_done_cb, f);
  spin (300);
  g_assert_cmpuint (count_kind (f, WB_ALERT_KIND_REPEAT), ==, repeats);
}

static void
test_withdraw (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(WbAlertRecord) r = make_record (WB_ALERT_KIND_ALERT, "a1", FALSE);
  g_autoptr(WbAlertRecord) w = make_record (WB_ALERT_KIND_WITHDRAW, "a1", FALSE);
  guint n;

  _wb_alert_dispatcher_set_repeat_interval_ms (f->dispatcher, 100);
  wb_alert_dispatcher_dispatch (f->dispatcher, r, on_done_cb, f);
  wait_for_done (f, 1, 1000);
  wb_alert_dispatcher_dispatch (f->dispatcher, w, on_done_cb, f);
  wait_for_done (f, 2, 1000);
  g_assert_cmpint (done_record (f, 1)->kind, ==, WB_ALERT_KIND_WITHDRAW);
  for (guint i = 0; i < WB_N_TIERS; i++)
    {
      g_assert_cmpuint (f->tiers[i]->withdrawn, ==, 1);
      g_assert_cmpuint (f->tiers[i]->fired, ==, 1);
    }
  n = f->record_done->len;
  spin (300);
  g_assert_cmpuint (f->record_done->len, ==, n);
  g_assert_cmpuint (wb_alert_dispatcher_get_n_unacknowledged (f->dispatcher), ==, 0);

  /* acknowledge_all stops every reminder. */
  wb_alert_dispatcher_dispatch (f->dispatcher, r, on_done_cb, f);
  r->assignment_id[1] = '2';
  wb_alert_dispatcher_dispatch (f->dispatcher, r, on_done_cb, f);
  g_assert_cmpuint (wb_alert_dispatcher_get_n_unacknowledged (f->dispatcher), ==, 2);
  wb_alert_dispatcher_acknowledge_all (f->dispatcher);
  n = count_kind (f, WB_ALERT_KIND_REPEAT);
  spin (300);
  g_assert_cmpuint (count_kind (f, WB_ALERT_KIND_REPEAT), ==, n);
}

/* A burst: 200 records at once, each tier answering; every one completes exactly once. */
static void
test_burst (Fixture       *f,
            gconstpointer  data)
{
  for (guint i = 0; i < 200; i++)
    {
      g_autofree char *id = g_strdup_printf ("b%u", i);
      g_autoptr(WbAlertRecord) r = make_record (WB_ALERT_KIND_ALERT, id, FALSE);

      wb_alert_dispatcher_dispatch (f->dispatcher, r, on_done_cb, f);
    }
  wait_for_done (f, 200, 3000);
  for (guint i = 0; i < WB_N_TIERS; i++)
    g_assert_cmpuint (f->tiers[i]->fired, ==, 200);
}

#define FSI "\xe2\x81\xa8"
#define PDI "\xe2\x81\xa9"

/* Every FSI/LRI/RLI closed by a PDI, never a PDI too many, no embedding or override. */
static void
assert_isolates_balanced (const char *text)
{
  int depth = 0;

  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c >= 0x2066 && c <= 0x2068)
        depth++;
      else if (c == 0x2069)
        depth--;
      g_assert_cmpint (depth, >=, 0);
      g_assert_false (c >= 0x202a && c <= 0x202e);
    }
  g_assert_cmpint (depth, ==, 0);
}

/* Customer text: escaped for markup, cut cleanly, never broken UTF-8. */
static void
test_text (void)
{
  g_autoptr(WbAlertRecord) r = make_record (WB_ALERT_KIND_ALERT, "t1", FALSE);
  g_autofree char *title = NULL;
  g_autofree char *body = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *cut = NULL;
  g_autofree char *bad = NULL;
  g_autoptr(GString) huge = g_string_new (NULL);

  g_free (r->customer);
  r->customer = g_strdup ("<b>Bob & \"Co\"</b>");
  r->vehicle = g_strdup ("2019 Honda Civic");
  r->concern = g_strdup ("brake\nnoise");
  title = wb_alert_toast_build_title (r);
  g_assert_cmpstr (title, ==, "New request — " FSI "&lt;b&gt;Bob &amp; &quot;Co&quot;&lt;/b&gt;" PDI
                   " · " FSI "2019 Honda Civic" PDI " · " FSI "brake noise" PDI);
  g_assert_true (pango_parse_markup (title, -1, 0, NULL, NULL, NULL, NULL));
  body = wb_alert_notification_build_body (r, TRUE);
  g_assert_cmpstr (body, ==, FSI "&lt;b&gt;Bob &amp; &quot;Co&quot;&lt;/b&gt;" PDI " · "
                   FSI "2019 Honda Civic" PDI " · " FSI "brake noise" PDI);
  plain = wb_alert_notification_build_body (r, FALSE);
  g_assert_cmpstr (plain, ==, FSI "<b>Bob & \"Co\"</b>" PDI " · " FSI "2019 Honda Civic" PDI
                   " · " FSI "brake noise" PDI);

  for (guint i = 0; i < 5000; i++)
    g_string_append (huge, i % 2 ? "é" : "日");
  cut = wb_alert_tier_clean_text (huge->str, 120);
  g_assert_true (g_utf8_validate (cut, -1, NULL));
  g_assert_cmpuint (g_utf8_strlen (cut, -1), ==, 120);
  g_assert_true (g_str_has_suffix (cut, "…"));
  g_free (r->customer);
  r->customer = g_string_free (g_steal_pointer (&huge), FALSE);
  g_clear_pointer (&title, g_free);
  title = wb_alert_toast_build_title (r);
  g_assert_true (pango_parse_markup (title, -1, 0, NULL, NULL, NULL, NULL));
  g_assert_cmpuint (g_utf8_strlen (title, -1), ==, 120);
  /* Cut inside the customer's isolate: the ellipsis stays in it, and it is closed. */
  g_assert_true (g_str_has_suffix (title, "…" PDI));
  assert_isolates_balanced (title);

  /* Short text is left alone; invalid UTF-8 is repaired, not passed on. */
  g_clear_pointer (&cut, g_free);
  cut = wb_alert_tier_clean_text ("Ann", 120);
  g_assert_cmpstr (cut, ==, "Ann");
  bad = wb_alert_tier_clean_text ("Bo\xff\xfe" "b", 120);
  g_assert_true (g_utf8_validate (bad, -1, NULL));

  /* A right-to-left name cannot pull the vehicle and the concern into its run, and a stray PDI or
   * override in the text (the core strips them; this is the second line) cannot unbalance it. */
  g_free (r->customer);
  r->customer = g_strdup ("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d" PDI "\xe2\x80\xae");
  g_clear_pointer (&plain, g_free);
  plain = wb_alert_notification_build_body (r, FALSE);
  g_assert_cmpstr (plain, ==, FSI "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d" PDI " · " FSI "2019 Honda Civic" PDI
                   " · " FSI "brake noise" PDI);
  assert_isolates_balanced (plain);
  g_clear_pointer (&cut, g_free);
  cut = wb_alert_tier_clean_text (PDI "a" FSI "b" "\xe2\x80\xaa" FSI "c", 120);
  g_assert_cmpstr (cut, ==, "a" FSI "b" FSI "c" PDI PDI);
  for (guint max = 2; max < 12; max++)
    {
      g_autofree char *small = wb_alert_tier_clean_text (FSI "abc" PDI " · " FSI "def" PDI, max);

      g_assert_cmpuint (g_utf8_strlen (small, -1), <=, max);
      assert_isolates_balanced (small);
    }

  /* Nothing known: a neutral title, never "undefined". */
  g_free (r->customer);
  r->customer = NULL;
  g_clear_pointer (&r->vehicle, g_free);
  g_clear_pointer (&r->concern, g_free);
  g_clear_pointer (&title, g_free);
  title = wb_alert_toast_build_title (r);
  g_assert_cmpstr (title, ==, "New request — New session request");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/alerts/text/escape-and-cut", test_text);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/alerts/dispatcher/all-ok", test_all_ok);
  ADD ("/alerts/dispatcher/isolation", test_isolation);
  ADD ("/alerts/dispatcher/disabled", test_disabled);
  ADD ("/alerts/dispatcher/dnd", test_dnd);
  ADD ("/alerts/dispatcher/repeat-until-acknowledged", test_repeat_until_acknowledged);
  ADD ("/alerts/dispatcher/withdraw", test_withdraw);
  ADD ("/alerts/dispatcher/burst", test_burst);
#undef ADD

  return g_test_run ();
}
