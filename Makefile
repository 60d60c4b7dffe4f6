# Convenience targets; each is one command the README also names.
.PHONY: setup test run firmware

setup:
	bash scripts/setup.sh --test

test:
	bash scripts/test.sh

run:
	bash scripts/main.sh

# The handheld's deployable bundle (.mpy for xtensawin) in build/firmware/
firmware: setup
	.venv/bin/python tools/build_firmware.py build/firmware
