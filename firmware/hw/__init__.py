# Hardware layer: one small module per part.  Only this package imports
# machine / network / esp32, so everything else runs anywhere.
