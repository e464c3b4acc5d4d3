/* libFuzzer target: input bytes as the persisted dedupe-set file. Loading never crashes; what
 * loads survives a save/load round trip unchanged. */
#include "config.h"

#include <string.h>

#include "wb-dedupe-set.h"

#define NOW G_GINT64_CONSTANT (1795168800000000)

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(WbDedupeSet) set = wb_dedupe_set_new_full ("", 50, G_TIME_SPAN_DAY, NOW);
  g_autoptr(WbDedupeSet) again = wb_dedupe_set_new_full ("", 50, G_TIME_SPAN_DAY, NOW);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  gsize first_len, second_len;

  if (!wb_dedupe_set_load_from_data (set, (const char *) data, size, NOW, NULL))
    {
      g_assert_cmpuint (wb_dedupe_set_get_size (set), ==, 0);
      return 0;
    }
  g_assert_cmpuint (wb_dedupe_set_get_size (set), <=, 50);

  first = wb_dedupe_set_serialize (set, &first_len);
  g_assert_true (wb_dedupe_set_load_from_data (again, first, first_len, NOW, NULL));
  g_assert_cmpuint (wb_dedupe_set_get_size (again), ==, wb_dedupe_set_get_size (set));
  second = wb_dedupe_set_serialize (again, &second_len);
  g_assert_cmpuint (first_len, ==, second_len);
  g_assert_true (memcmp (first, second, first_len) == 0);
  return 0;
}
