"""Fuzzing UDI Edge's input paths (docs/security.md).

One module per target, each holding the target's oracle (what must hold
for *any* input) and its atheris harness (`python -m fuzz.<target>`):

  code_engine   udi_codes.parse() on any bytes / text
  scan_payload  the ingest's MQTT handler on any payload, topic and JSON shape
  zpl_template  every field of every label template with any value
  sheet_import  product-sheet and three-code-mapping imports of mutated CSV / XLSX files

The hypothesis tests (tests/test_fuzz_*.py) and bench/fuzz.py drive the same
oracles; budget.py holds the example budgets and the case counter."""
