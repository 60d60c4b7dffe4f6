# Boot entry on the device.  A signed update on trial that has not proved
# healthy within a few boots is rolled back before the app is imported.
# The updater's code then leaves the heap: the app imports it again only to
# commit an update on trial (or for an "ota" command).
import sys

trial = False
try:
    import ota

    trial = ota.Updater(".", "ota_staging", None).on_boot() == "trial"
except Exception as e:  # never keep the handheld from booting
    print("ota on_boot:", e)
finally:
    sys.modules.pop("ota", None)
    globals().pop("ota", None)  # nor a name here holding it

import app

app.main(trial)
