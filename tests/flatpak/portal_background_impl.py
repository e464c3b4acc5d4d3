'''python-dbusmock template: a Background portal *backend* (org.freedesktop.impl.portal.Background)
for the real xdg-desktop-portal in build-aux/run flatpak-check.

Debian 12 has no backend for this interface (xdg-desktop-portal-gtk 1.14 lacks it; the GNOME one
needs GNOME Shell's window tracking), so xdg-desktop-portal would not export the Background portal
at all. This one says every app runs in the background (GetAppState: none active, which is also
what puts the app into org.freedesktop.background.Monitor's BackgroundApps list, where GNOME Shell
reads the SetStatus line) and records every call (GetMethodCalls) for the check to read:
EnableAutostart(app_id, enable, commandline, flags) is what the portal does with a granted
RequestBackground.

Bus name: org.freedesktop.impl.portal.desktop.wbcheck (tests/flatpak/wbcheck.portal names it).
'''
# pylint: disable=invalid-name

import dbus

BUS_NAME = 'org.freedesktop.impl.portal.desktop.wbcheck'
MAIN_OBJ = '/org/freedesktop/portal/desktop'
MAIN_IFACE = 'org.freedesktop.impl.portal.Background'
SYSTEM_BUS = False


def load(mock, parameters):
    mock.AddMethods(MAIN_IFACE, [
        ('GetAppState', '', 'a{sv}', 'ret = dbus.Dictionary({}, signature="sv")'),
        # 2: allow, the user's answer to "keeps running in the background" (never asked here).
        ('NotifyBackground', 'oss', 'ua{sv}',
         'ret = (dbus.UInt32(0), dbus.Dictionary({"result": dbus.UInt32(2)}, signature="sv"))'),
        ('EnableAutostart', 'sbasu', 'b', 'ret = args[1]'),
    ])
    mock.AddProperty(MAIN_IFACE, 'version', dbus.UInt32(1))
