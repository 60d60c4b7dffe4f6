# UDI Edge gateway: receives scans, validates them with udi_codes, stores,
# answers the handhelds, drives label printers and grades print quality.
