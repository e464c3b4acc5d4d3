#include "config.h"

#include "wb-backoff.h"
#include "wb-error.h"

#include <gio/gio.h>

static void
test_schedule_grows_and_caps (void)
{
  WbBackoff b;
  guint expected_max[] = { 1000, 2000, 4000, 8000, 10000, 10000 };

  wb_backoff_init (&b, 1000, 10000, 2.0, 0.0);
  for (guint i = 0; i < G_N_ELEMENTS (expected_max); i++)
    g_assert_cmpuint (wb_backoff_next (&b), ==, expected_max[i]);

  wb_backoff_reset (&b);
  g_assert_cmpuint (wb_backoff_next (&b), ==, 1000);
  wb_backoff_clear (&b);
}

static void
test_jitter_stays_in_band (void)
{
  WbBackoff b;
  gboolean saw_below_top = FALSE;

  wb_backoff_init (&b, 1000, 30000, 2.0, 0.5);
  wb_backoff_set_seed (&b, 42);
  for (guint i = 0; i < 200; i++)
    {
      guint top = wb_backoff_peek_max (&b);
      guint d = wb_backoff_next (&b);

      g_assert_cmpuint (d, >=, top / 2);
      g_assert_cmpuint (d, <=, top);
      if (d < top)
        saw_below_top = TRUE;
      if (i % 7 == 6)
        wb_backoff_reset (&b);
    }
  g_assert_true (saw_below_top);
  wb_backoff_clear (&b);
}

static void
test_retryable_classification (void)
{
  g_autoptr(GError) server = g_error_new_literal (WB_ERROR, WB_ERROR_SERVER, "503");
  g_autoptr(GError) rate = g_error_new_literal (WB_ERROR, WB_ERROR_RATE_LIMITED, "429");
  g_autoptr(GError) hidden = g_error_new_literal (WB_ERROR, WB_ERROR_NOT_FOUND, "PGRST116");
  g_autoptr(GError) unauth = g_error_new_literal (WB_ERROR, WB_ERROR_UNAUTHORIZED, "JWT expired");
  g_autoptr(GError) refused = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED, "x");
  g_autoptr(GError) cancelled = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "x");

  g_assert_true (wb_error_is_retryable (server));
  g_assert_true (wb_error_is_retryable (rate));
  g_assert_true (wb_error_is_retryable (refused));
  g_assert_false (wb_error_is_retryable (hidden));
  g_assert_false (wb_error_is_retryable (unauth));
  g_assert_false (wb_error_is_retryable (cancelled));
  g_assert_false (wb_error_is_retryable (NULL));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/wb/backoff/schedule", test_schedule_grows_and_caps);
  g_test_add_func ("/wb/backoff/jitter", test_jitter_stays_in_band);
  g_test_add_func ("/wb/error/retryable", test_retryable_classification);
  return g_test_run ();
}
