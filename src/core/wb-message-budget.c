#define G_LOG_DOMAIN "wb-message-budget"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <linux/tcp.h>

#include "wb-message-budget.h"

/* libsoup before 3.7.1 bounds each websocket *frame* (max-incoming-payload-size) but reassembles
 * a message's continuation frames without any total limit: a server that sends 100 MB in 1 MB
 * fragments makes the client hold all of it, and more than that, before our own size check can
 * see the message. Its public API shows neither fragments nor bytes as they arrive, and it reads
 * the GIOStream it created itself.
 *
 * What is public is the TCP socket under that stream (SoupMessage::network-event gives it) and
 * what the kernel knows about it: TCP_INFO's tcpi_bytes_received (since Linux 4.1) minus the
 * bytes still waiting in the receive queue (SIOCINQ) is how many bytes libsoup has taken off the
 * connection. Between two delivered messages that can only grow by the message in progress (plus
 * frame headers, control frames and TLS records), so when it grows past @limit the message is
 * larger than anything we accept and the connection is closed: what libsoup buffers for it stays
 * about @limit. The check runs whenever the socket is readable, at the same priority as libsoup's
 * own reader, so it needs no timer (and an idle connection costs nothing).
 *
 * Where TCP_INFO is not available (not TCP, an old kernel) there is no budget; libsoup 3.7.1 and
 * later get max-total-message-size instead (wb-realtime-socket.c). */

struct _WbMessageBudget
{
  GSocket             *socket;    /* (owned) */
  GSource             *source;    /* (owned) (nullable) */
  guint64              limit;
  guint64              at_mark;   /* bytes consumed when the last whole message arrived */
  guint64              last_seen;
  guint                stalls;    /* readable, yet nobody consumed anything */
  WbMessageBudgetFunc  exceeded;
  gpointer             user_data;
};

/* Bytes read off the connection by its reader so far. */
static gboolean
consumed_bytes (GSocket *socket,
                guint64 *out)
{
  struct tcp_info info;
  socklen_t len = sizeof info;
  int fd = g_socket_get_fd (socket);
  int queued = 0;

  memset (&info, 0, sizeof info);
  if (getsockopt (fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0
      || len < offsetof (struct tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received)
    return FALSE;
  if (ioctl (fd, SIOCINQ, &queued) != 0 || queued < 0)
    return FALSE;
  *out = info.tcpi_bytes_received - MIN ((guint64) queued, info.tcpi_bytes_received);
  return TRUE;
}

static gboolean
readable_cb (GSocket      *socket,
             GIOCondition  condition,
             gpointer      user_data)
{
  WbMessageBudget *self = user_data;
  guint64 consumed;

  if ((condition & (G_IO_HUP | G_IO_ERR)) || !consumed_bytes (socket, &consumed))
    goto stop;

  /* Never spin: if the reader has stopped (the connection is closing), so do we. */
  self->stalls = consumed == self->last_seen ? self->stalls + 1 : 0;
  self->last_seen = consumed;
  if (self->stalls > 3)
    goto stop;

  if (consumed - self->at_mark > self->limit)
    {
      g_debug ("%" G_GUINT64_FORMAT " bytes since the last whole message (budget %" G_GUINT64_FORMAT
               "): closing", consumed - self->at_mark, self->limit);
      g_clear_pointer (&self->source, g_source_unref);
      self->exceeded (self->user_data);   /* may free self */
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;

stop:
  g_clear_pointer (&self->source, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* Calls @exceeded (once) when more than @limit bytes arrive on @socket without a whole message
 * (wb_message_budget_mark ()) in between. NULL when the kernel cannot tell (no budget then). */
WbMessageBudget *
wb_message_budget_new (GSocket             *socket,
                       guint64              limit,
                       WbMessageBudgetFunc  exceeded,
                       gpointer             user_data)
{
  WbMessageBudget *self;
  guint64 consumed;

  g_return_val_if_fail (G_IS_SOCKET (socket), NULL);

  if (!consumed_bytes (socket, &consumed))
    {
      g_debug ("no TCP_INFO byte count on this socket: no message budget");
      return NULL;
    }
  self = g_new0 (WbMessageBudget, 1);
  self->socket = g_object_ref (socket);
  self->limit = limit;
  self->at_mark = self->last_seen = consumed;
  self->exceeded = exceeded;
  self->user_data = user_data;
  self->source = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_static_name (self->source, "[wb] websocket message budget");
  g_source_set_callback (self->source, (GSourceFunc) (GCallback) readable_cb, self, NULL);
  g_source_attach (self->source, g_main_context_get_thread_default ());
  return self;
}

/* A whole message arrived: the next one starts from here. */
void
wb_message_budget_mark (WbMessageBudget *self)
{
  guint64 consumed;

  if (self != NULL && consumed_bytes (self->socket, &consumed))
    self->at_mark = consumed;
}

void
wb_message_budget_free (WbMessageBudget *self)
{
  if (self == NULL)
    return;
  if (self->source != NULL)
    {
      g_source_destroy (self->source);
      g_source_unref (self->source);
    }
  g_object_unref (self->socket);
  g_free (self);
}
