# The scan engine's UART (non-REPL UART 1 or 2).
import machine


def open_uart(cfg):
    return machine.UART(
        cfg.get("uart", 1),
        baudrate=cfg.get("baud", 9600),
        tx=cfg.get("tx"),
        rx=cfg.get("rx"),
        rxbuf=cfg.get("rxbuf", 1024),
        timeout=0,  # never block: the driver polls
    )
