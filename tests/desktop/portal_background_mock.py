'''python-dbusmock template: org.freedesktop.portal.Desktop with the Background portal (v2).

RequestBackground(parent_window, options) returns the Request object path that libportal
expects (/org/freedesktop/portal/desktop/request/SENDER/TOKEN) and then emits
org.freedesktop.portal.Request.Response on it.

Parameters:
  outcome: "grant"    -> Response(0, {background: true,  autostart: <requested>})   (default)
           "deny"     -> Response(0, {background: false, autostart: false})
           "cancel"   -> Response(1, {})   (the user said no in the dialog)
           "fail"     -> Response(2, {})
'''
# pylint: disable=invalid-name

import dbus
import dbus.lowlevel
import dbus.service
from gi.repository import GLib

from dbusmock import mockobject

BUS_NAME = 'org.freedesktop.portal.Desktop'
MAIN_OBJ = '/org/freedesktop/portal/desktop'
MAIN_IFACE = 'org.freedesktop.portal.Background'
SYSTEM_BUS = False

REQUEST_IFACE = 'org.freedesktop.portal.Request'


def load(mock, parameters):
    mock.wb_outcome = str(parameters.get('outcome', 'grant'))
    mock.AddProperty(MAIN_IFACE, 'version', dbus.UInt32(2))
    mock.AddMethod(MAIN_IFACE, 'SetStatus', 'a{sv}', '', '')


@dbus.service.method(MAIN_IFACE, in_signature='sa{sv}', out_signature='o',
                     sender_keyword='sender')
def RequestBackground(self, parent_window, options, sender=None):
    token = str(options.get('handle_token', 'wb'))
    path = '/org/freedesktop/portal/desktop/request/%s/%s' % (
        sender[1:].replace('.', '_'), token)
    autostart = bool(options.get('autostart', False))

    self.AddObject(path, REQUEST_IFACE, {}, [('Close', '', '', '')])
    request = mockobject.objects[path]

    outcome = self.wb_outcome
    if outcome == 'grant':
        response, results = 0, {'background': dbus.Boolean(True),
                                'autostart': dbus.Boolean(autostart)}
    elif outcome == 'deny':
        response, results = 0, {'background': dbus.Boolean(False),
                                'autostart': dbus.Boolean(False)}
    elif outcome == 'cancel':
        response, results = 1, {}
    else:
        response, results = 2, {}

    def emit():
        # Like xdg-desktop-portal, send the Response to the caller only (unicast): libportal
        # subscribes without a match rule, so a broadcast signal would never reach it.
        msg = dbus.lowlevel.SignalMessage(path, REQUEST_IFACE, 'Response')
        msg.append(dbus.UInt32(response), dbus.Dictionary(results, signature='sv'),
                   signature='ua{sv}')
        msg.set_destination(sender)
        request.connection.send_message(msg)
        self.log(f'emit {path} {REQUEST_IFACE}.Response {response} {results} -> {sender}')
        return False

    # Answer after the method call has returned, as the real portal does after its dialog.
    GLib.timeout_add(20, emit)
    return dbus.ObjectPath(path)
