# Boot entry on the device.  A signed update on trial that has not proved
# healthy within a few boots is rolled back before the app is imported.
try:
    import ota

    ota.Updater(".", "ota_staging", None).on_boot()
except Exception as e:  # never keep the handheld from booting
    print("ota on_boot:", e)

import app

app.main()
