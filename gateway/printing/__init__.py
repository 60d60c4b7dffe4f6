"""Label printing for manufacturer coding: templates (ZPL with typed fields),
the serial ledger, print jobs, printer transports and status, and offline
rendering.  One module per concept; see docs/printing.md."""
