import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# One reference date for every test, so "expired" and the century rule do
# not depend on the day the suite runs.
TODAY = "2026-11-22"
