/* SPDX-License-Identifier: GPL-3.0-or-later */
/* wb-request-row.c: one queued request — customer, vehicle and concern, waiting time, urgency,
 * and what the mechanic can do about it: Accept (with progress while the backend decides),
 * Snooze, Acknowledge. When the request ends the row says how ("Taken by Bob") until the window
 * lets it go.
 *
 * Everything the customer typed — and mechanics' names, which come from the server too — goes
 * into GtkLabel text, never markup, after control characters are removed and the text is cut to a
 * bounded number of characters; fields sharing a label are isolated from each other (FSI … PDI).
 */
#define G_LOG_DOMAIN "wb-request-row"

#include "config.h"

#include <glib/gi18n.h>

#include "wb-request-row.h"
#include "wb-untrusted-text.h"

struct _WbRequestRow
{
  GtkListBoxRow  parent_instance;

  GtkButton     *acknowledge_button;
  GtkButton     *accept_button;
  GtkStack      *accept_stack;
  GtkSpinner    *accept_spinner;
  GtkBox        *actions_box;
  GtkButton     *dashboard_button;
  GtkButton     *snooze_button;
  GtkLabel      *state_label;
  GtkLabel      *customer_label;
  GtkLabel      *details_label;
  GtkLabel      *urgent_label;
  GtkLabel      *waiting_label;

  char          *assignment_id;  /* (owned) */
  gint64         since_us;       /* wall clock the request was first seen */
  gboolean       ended;
};

G_DEFINE_FINAL_TYPE (WbRequestRow, wb_request_row, GTK_TYPE_LIST_BOX_ROW)

char *
wb_request_row_clean_text (const char *text,
                           guint       max_chars)
{
  GString *out;
  const char *p;
  guint n = 0;
  gboolean space = FALSE;

  if (text == NULL)
    return g_strdup ("");
  if (!g_utf8_validate (text, -1, NULL))
    {
      g_autofree char *valid = g_utf8_make_valid (text, -1);

      return wb_request_row_clean_text (valid, max_chars);
    }

  out = g_string_new (NULL);
  for (p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      /* Newlines, tabs and other controls become one space: one line per field. */
      if (g_unichar_iscntrl (c) || c == 0x2028 || c == 0x2029)
        {
          space = out->len > 0;
          continue;
        }
      if (n + (space ? 1 : 0) >= max_chars)
        {
          /* Cut on a character boundary, never inside a combining sequence. */
          while (out->len > 0)
            {
              const char *last = g_utf8_find_prev_char (out->str, out->str + out->len);
              gunichar lc = g_utf8_get_char (last);

              g_string_truncate (out, last - out->str);
              if (g_unichar_ismark (lc) || lc == 0x200D)
                continue;
              if (!g_unichar_isspace (lc))
                break;
            }
          g_string_append (out, "…");
          return g_string_free (out, FALSE);
        }
      if (space)
        {
          g_string_append_c (out, ' ');
          n++;
          space = FALSE;
        }
      g_string_append_unichar (out, c);
      n++;
    }
  return g_string_free (out, FALSE);
}

char *
wb_request_row_format_waiting (gint64 waited_us)
{
  gint64 s = MAX (waited_us, 0) / G_USEC_PER_SEC;
  gint64 min = s / 60, h = min / 60;

  if (s < 60)
    return g_strdup (_("Waiting for less than a minute"));
  if (h == 0)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Waiting for %d minute",
                                         "Waiting for %d minutes", (gulong) min), (int) min);
  /* Translators: hours and minutes a request has waited, e.g. "Waiting for 2 h 5 min". */
  return g_strdup_printf (_("Waiting for %d h %d min"), (int) h, (int) (min % 60));
}

void
wb_request_row_update_waiting (WbRequestRow *self,
                               gint64        now_us)
{
  g_autofree char *text = NULL;

  g_return_if_fail (WB_IS_REQUEST_ROW (self));

  text = wb_request_row_format_waiting (now_us - self->since_us);
  gtk_label_set_text (self->waiting_label, text);
}

const char *
wb_request_row_get_assignment_id (WbRequestRow *self)
{
  g_return_val_if_fail (WB_IS_REQUEST_ROW (self), NULL);

  return self->assignment_id;
}

static void
set_record (WbRequestRow        *self,
            const WbAlertRecord *record)
{
  g_autofree char *customer = NULL;
  g_autofree char *details = NULL;
  g_autofree char *vehicle = NULL;
  g_autofree char *concern = NULL;
  /* Owned here: GtkActionHelper frees a floating target equal to the one it has. */
  g_autoptr(GVariant) target = g_variant_ref_sink (g_variant_new_string (record->assignment_id));

  if (g_strcmp0 (self->assignment_id, record->assignment_id) != 0)
    {
      g_free (self->assignment_id);
      self->assignment_id = g_strdup (record->assignment_id);
    }
  self->since_us = record->received_us > 0 ? record->received_us : g_get_real_time ();

  customer = wb_request_row_clean_text (record->customer != NULL && *record->customer != '\0'
                                        ? record->customer : _("Unknown customer"),
                                        WB_REQUEST_ROW_MAX_CHARS);
  vehicle = wb_request_row_clean_text (record->vehicle, WB_REQUEST_ROW_MAX_CHARS);
  concern = wb_request_row_clean_text (record->concern, WB_REQUEST_ROW_MAX_CHARS);
  /* One label, two fields: each in its own isolate, so neither can reorder the other. */
  details = wb_untrusted_text_join_isolated ((const char *[]) { vehicle, concern }, 2, " · ");
  if (details == NULL)
    details = g_strdup (_("Details are not available yet"));

  gtk_label_set_text (self->customer_label, customer);
  gtk_label_set_text (self->details_label, details);
  gtk_widget_set_visible (GTK_WIDGET (self->urgent_label), record->urgent);
  if (record->urgent)
    gtk_widget_add_css_class (GTK_WIDGET (self), "wb-urgent");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "wb-urgent");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), customer);

  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (self), target);
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (self->acknowledge_button), target);
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (self->accept_button), target);
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (self->snooze_button), target);
  gtk_actionable_set_action_target_value (GTK_ACTIONABLE (self->dashboard_button), target);
  wb_request_row_update_waiting (self, g_get_real_time ());
}

void
wb_request_row_set_accepting (WbRequestRow *self,
                              gboolean      accepting)
{
  g_return_if_fail (WB_IS_REQUEST_ROW (self));

  /* Never a second click while the backend decides: the button waits with a spinner. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->accept_button), !accepting && !self->ended);
  gtk_stack_set_visible_child_name (self->accept_stack, accepting ? "busy" : "label");
  gtk_spinner_set_spinning (self->accept_spinner, accepting);
}

gboolean
wb_request_row_get_accepting (WbRequestRow *self)
{
  g_return_val_if_fail (WB_IS_REQUEST_ROW (self), FALSE);

  return gtk_spinner_get_spinning (self->accept_spinner);
}

void
wb_request_row_set_note (WbRequestRow *self,
                         const char   *text)
{
  g_autofree char *clean = NULL;

  g_return_if_fail (WB_IS_REQUEST_ROW (self));

  clean = text != NULL ? wb_request_row_clean_text (text, WB_REQUEST_ROW_MAX_CHARS) : NULL;
  gtk_label_set_text (self->state_label, clean != NULL ? clean : "");
  gtk_widget_set_visible (GTK_WIDGET (self->state_label), clean != NULL && *clean != '\0');
}

void
wb_request_row_set_ended (WbRequestRow *self,
                          const char   *text,
                          gboolean      offer_dashboard)
{
  g_return_if_fail (WB_IS_REQUEST_ROW (self));

  self->ended = TRUE;
  wb_request_row_set_accepting (self, FALSE);
  wb_request_row_set_note (self, text);
  gtk_widget_set_visible (GTK_WIDGET (self->actions_box), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->waiting_label), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->dashboard_button), offer_dashboard);
  gtk_widget_add_css_class (GTK_WIDGET (self), "wb-ended");
  gtk_widget_remove_css_class (GTK_WIDGET (self), "wb-urgent");
  /* Nothing left to open: the request is not in the queue any more. */
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (self), FALSE);
}

gboolean
wb_request_row_get_ended (WbRequestRow *self)
{
  g_return_val_if_fail (WB_IS_REQUEST_ROW (self), FALSE);

  return self->ended;
}

void
wb_request_row_update (WbRequestRow        *self,
                       const WbAlertRecord *record)
{
  g_return_if_fail (WB_IS_REQUEST_ROW (self));
  g_return_if_fail (record != NULL);

  set_record (self, record);
}

static void
wb_request_row_finalize (GObject *object)
{
  WbRequestRow *self = WB_REQUEST_ROW (object);

  g_clear_pointer (&self->assignment_id, g_free);

  G_OBJECT_CLASS (wb_request_row_parent_class)->finalize (object);
}

static void
wb_request_row_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), WB_TYPE_REQUEST_ROW);

  G_OBJECT_CLASS (wb_request_row_parent_class)->dispose (object);
}

static void
wb_request_row_class_init (WbRequestRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = wb_request_row_dispose;
  object_class->finalize = wb_request_row_finalize;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/wrenchbell/Wrenchbell/wb-request-row.ui");
  gtk_widget_class_bind_template_child (widget_class, WbRequestRow, acknowledge_button);
  gtk_widget_class_bind_template_child (widget_class, WbRequestRow, accept_button);
  gtk_widget_class_bind_template_child (widget_class, WbRequestRow, accept_stack);
  gtk_widget_class_bind_template_child (widget_class, WbRequestRow, accept_spinner);
  gtk_widget_class_bind_template_child (widget_class, WbRequestRow, actions_box);
  gtk_widget_class_bind_template_child (widget_class, WbRequestRow, dashboard_button);
  gtk_widget_class_bind_template_child (widget_class, WbRequestRow, snooze_button);
  gtk_widget_class_bind_template_child (widget_class, WbRequestRow, state_label);
  gtk_widget_class_bind_template_child (widget_class, WbRequestRow, customer_label);
  gtk_widget_class_bind_template_child (widget_class, WbRequestRow, details_label);
  gtk_widget_class_bind_template_child (widget_class, WbRequestRow, urgent_label);
  gtk_widget_class_bind_template_child (widget_class, WbRequestRow, waiting_label);
}

static void
wb_request_row_init (WbRequestRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
wb_request_row_new (const WbAlertRecord *record)
{
  WbRequestRow *self;

  g_return_val_if_fail (record != NULL, NULL);

  self = g_object_new (WB_TYPE_REQUEST_ROW, NULL);
  set_record (self, record);
  return GTK_WIDGET (self);
}
