"""The device registry: what the gateway knows about each handheld, the
settings it wants them to have (pushed retained on .../config) and the
commands it sends them (.../cmd, answered on .../cmd/result).

Which settings a handheld takes is the firmware's business: the keys, their
types and their checks are read from firmware/settings.py and
firmware/config.json when this module is imported, so the gateway can never
push a key the firmware would refuse or silently ignore."""

import copy
import importlib.util
import json
import logging
import os
import re
import secrets
import threading
import time

import orjson
from sqlalchemy import and_, func, insert, or_, select, update

from gateway.schema import commands, devices

log = logging.getLogger("udi_edge.devices")

# --- what the firmware accepts --------------------------------------------------

def _firmware_dir():
    # A checkout has firmware/ next to gateway/; an installed wheel carries
    # the two files in gateway/_firmware/ (pyproject force-include).
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.path.join(os.path.dirname(here), "firmware"), os.path.join(here, "_firmware")):
        if os.path.isfile(os.path.join(d, "settings.py")):
            return d
    return os.path.join(here, "_firmware")


FIRMWARE_DIR = os.environ.get("UDI_EDGE_FIRMWARE_DIR") or _firmware_dir()


def _load_firmware():
    # firmware/settings.py is MicroPython code that only imports json, so
    # CPython can load it as it is (under a private name: "settings" is too
    # generic to put in sys.modules).
    path = os.path.join(FIRMWARE_DIR, "settings.py")
    try:
        spec = importlib.util.spec_from_file_location("udi_edge_firmware_settings", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        with open(os.path.join(FIRMWARE_DIR, "config.json")) as f:
            defaults = json.load(f)
    except (OSError, ValueError) as e:
        raise ImportError("gateway.devices needs the firmware's settings.py and config.json in %s "
                          "(set UDI_EDGE_FIRMWARE_DIR): %s" % (FIRMWARE_DIR, e)) from e
    return mod, defaults


FIRMWARE_SETTINGS, FIRMWARE_DEFAULTS = _load_firmware()
MODES = tuple(FIRMWARE_SETTINGS.MODES)
# The keys a handheld takes from the config topic, with the value it ships
# with: the default's type is the type a pushed value must have.
REMOTE_DEFAULTS = {key: FIRMWARE_DEFAULTS.get(key) for key in FIRMWARE_SETTINGS.REMOTE}
TEXT_MAX = 64  # a null default is a free-text id (operator, location); the gateway keeps 64 characters

COMMANDS = ("reboot", "set_mode", "sync_time", "ota", "status")
DEV_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")  # docs/protocol.md; also keeps MQTT wildcards out of topics
COMMAND_ID = re.compile(r"[0-9a-f]{1,32}")  # send_command's ids are hex; nothing else can match one
MAX_RESULT_BYTES = 65536
RECENT_COMMANDS = 20


class SettingError(ValueError):
    """A setting the firmware would not take; `key` names it (dotted when nested)."""

    def __init__(self, key, message):
        super().__init__("%s: %s" % (key, message))
        self.key = key
        self.message = message


class CommandError(ValueError):
    """A command or argument the firmware would not take; `field` is "cmd" or "args.<name>"."""

    def __init__(self, field, message):
        super().__init__("%s: %s" % (field, message))
        self.field = field
        self.message = message


class UnknownDevice(LookupError):
    pass


class PublishFailed(RuntimeError):
    pass


def _type_name(default):
    if default is None:
        return "a string or null"
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, str):
        return "a string"
    if isinstance(default, dict):
        return "an object"
    return "a list"


def _check_type(key, value, default):
    # -> value, or raises SettingError naming the key.
    if default is None:
        ok = value is None or (isinstance(value, str) and len(value) <= TEXT_MAX)
        if isinstance(value, str) and len(value) > TEXT_MAX:
            raise SettingError(key, "at most %d characters, got %d" % (TEXT_MAX, len(value)))
    elif isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, dict):
        if not isinstance(value, dict):
            raise SettingError(key, "must be %s, got %s" % (_type_name(default), json.dumps(value)))
        for sub, v in value.items():
            if sub not in default:
                raise SettingError("%s.%s" % (key, sub), "unknown setting; %s takes %s" % (key, ", ".join(default)))
            _check_type("%s.%s" % (key, sub), v, default[sub])
        return value
    else:
        ok = isinstance(value, list)
    if not ok:
        raise SettingError(key, "must be %s, got %s" % (_type_name(default), json.dumps(value)))
    return value


def validate_settings(settings):
    """-> a copy of `settings` the firmware will take, or raises SettingError.

    Two checks, both from the firmware itself: the type of the value it ships
    with (config.json), then its own validate() on the merged result."""
    if not isinstance(settings, dict):
        raise SettingError("settings", "must be an object of setting: value")
    for key, value in settings.items():
        if not isinstance(key, str) or key not in REMOTE_DEFAULTS:
            raise SettingError(str(key), "not a setting a handheld takes over MQTT; it takes %s" % ", ".join(REMOTE_DEFAULTS))
        _check_type(key, value, REMOTE_DEFAULTS[key])
    trial = copy.deepcopy(FIRMWARE_DEFAULTS)
    trial.update(copy.deepcopy(settings))
    for problem in FIRMWARE_SETTINGS.validate(trial):
        key = problem.removeprefix("bad_")
        if key in settings:
            if key == "mode":
                raise SettingError(key, "must be one of %s, got %s" % (", ".join(MODES), json.dumps(settings[key])))
            raise SettingError(key, "%s is refused by the firmware (%s)" % (json.dumps(settings[key]), problem))
    return copy.deepcopy(settings)


def validate_command(cmd, args):
    # -> args as sent, or raises CommandError.  The firmware answers what it
    # cannot use with ok=false, but a typo is better caught before sending.
    if cmd not in COMMANDS:
        raise CommandError("cmd", "must be one of %s, got %s" % (", ".join(COMMANDS), json.dumps(cmd)))
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise CommandError("args", "must be an object")
    allowed = {"reboot": (), "status": (), "set_mode": ("mode",), "sync_time": ("unix",), "ota": ("url", "size")}[cmd]
    for name in args:
        if name not in allowed:
            takes = ("takes " + ", ".join(allowed)) if allowed else "takes no arguments"
            raise CommandError("args.%s" % name, "unknown argument; %s %s" % (cmd, takes))
    if cmd == "set_mode" and args.get("mode") not in MODES:
        raise CommandError("args.mode", "must be one of %s, got %s" % (", ".join(MODES), json.dumps(args.get("mode"))))
    if cmd == "sync_time" and "unix" in args:
        v = args["unix"]
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 2**32:
            raise CommandError("args.unix", "must be Unix seconds (an integer, 0 to 2^32), got %s" % json.dumps(v))
    if cmd == "ota":
        url = args.get("url")
        # the firmware's downloader speaks plain HTTP (the bundle itself is signed)
        if not isinstance(url, str) or not url.startswith("http://") or len(url) > 512:
            raise CommandError("args.url", "must be an http:// URL of the signed bundle, got %s" % json.dumps(url))
        size = args.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise CommandError("args.size", "must be the bundle's size in bytes (a positive integer), got %s" % json.dumps(size))
    return dict(args)


def check_dev(dev):
    if not isinstance(dev, str) or not DEV_ID.match(dev):
        raise ValueError("dev: a device id is 1-32 letters, digits, '_' or '-', got %s" % json.dumps(dev))
    return dev


# --- the registry -----------------------------------------------------------------


def _device_out(row):
    d = dict(row)
    d["online"] = d.get("state") == "online"
    return d


class DeviceRegistry:
    """Devices, their desired config and their commands.

    publish(topic, payload, qos, retain) is the gateway's MQTT client
    publish (paho's Client.publish fits); None makes config push and commands
    fail with PublishFailed (a read-only API)."""

    def __init__(self, engine, publish, prefix="udi/v1"):
        self.engine = engine
        self.publish = publish
        self.prefix = prefix
        # Pushes for one device are published in the order of their rev.
        self._config_lock = threading.Lock()

    def topic(self, dev, kind):
        return "%s/dev/%s/%s" % (self.prefix, dev, kind)

    def _publish(self, topic, payload, qos, retain):
        # -> "sent" or "queued" (paho keeps QoS 1 messages while disconnected
        # and sends them on reconnect); raises PublishFailed otherwise.
        if self.publish is None:
            raise PublishFailed("no MQTT connection: the gateway was started without one")
        try:
            info = self.publish(topic, payload, qos, retain)
        except Exception as e:  # paho raises ValueError for bad topics / sizes
            raise PublishFailed("MQTT publish failed: %s" % e) from e
        rc = getattr(info, "rc", 0)
        if rc == 0:
            return "sent"
        if rc == 4 and qos > 0:  # MQTT_ERR_NO_CONN: held by paho until the broker is back
            return "queued"
        raise PublishFailed("MQTT publish failed (paho error %s)" % rc)

    # -- devices -------------------------------------------------------------------

    def list(self, online=None, after=None, limit=None):
        q = select(devices).order_by(devices.c.dev)
        if online is True:
            q = q.where(devices.c.state == "online")
        elif online is False:
            q = q.where(or_(devices.c.state.is_(None), devices.c.state != "online"))
        if after is not None:
            q = q.where(devices.c.dev > after)
        if limit is not None:
            q = q.limit(limit)
        with self.engine.connect() as c:
            return [_device_out(r) for r in c.execute(q).mappings()]

    def get(self, dev):
        # -> the device with its last commands, or None.
        with self.engine.connect() as c:
            row = c.execute(select(devices).where(devices.c.dev == dev)).mappings().first()
        if row is None:
            return None
        d = _device_out(row)
        d["commands"] = self.commands(dev, limit=RECENT_COMMANDS)
        return d

    def exists(self, dev):
        with self.engine.connect() as c:
            return c.execute(select(devices.c.dev).where(devices.c.dev == dev)).first() is not None

    def set_meta(self, dev, name=None, location=None):
        # None leaves a field as it is, "" clears it.  Registers a device not
        # seen yet (so it can be configured before it first connects).
        check_dev(dev)
        fields = {}
        for key, value in (("name", name), ("location", location)):
            if value is None:
                continue
            if not isinstance(value, str) or len(value) > 64:
                raise ValueError("%s: at most 64 characters of text" % key)
            fields[key] = value or None
        with self.engine.begin() as c:
            if c.execute(select(devices.c.dev).where(devices.c.dev == dev)).first() is None:
                c.execute(insert(devices).values(dev=dev, **fields))
            elif fields:
                c.execute(update(devices).where(devices.c.dev == dev).values(**fields))
        return self.get(dev)

    # -- config ------------------------------------------------------------------------

    def push_config(self, dev, settings):
        """Validate, store and publish (retained) the settings a handheld
        should have.  They replace the previous desired settings as a whole:
        the retained message is what a rebooted handheld applies.
        -> {"dev", "rev", "config", "topic", "delivery"}."""
        check_dev(dev)
        settings = validate_settings(settings)
        with self._config_lock, self.engine.begin() as c:
            # One UPDATE increments the rev: concurrent pushes never share one.
            res = c.execute(update(devices).where(devices.c.dev == dev).values(
                config=settings, config_rev=func.coalesce(devices.c.config_rev, 0) + 1))
            if res.rowcount == 0:
                raise UnknownDevice(dev)
            rev = c.execute(select(devices.c.config_rev).where(devices.c.dev == dev)).scalar()
            payload = json.dumps(dict({"v": 1, "rev": rev}, **settings), ensure_ascii=False)
            # Published before the commit: a failed publish rolls the rev back.
            delivery = self._publish(self.topic(dev, "config"), payload, 1, True)
        return {"dev": dev, "rev": rev, "config": settings, "topic": self.topic(dev, "config"), "delivery": delivery}

    def republish_configs(self):
        # After a broker restart (the embedded one keeps no retained messages)
        # every stored config is published again.  -> number published.
        with self.engine.connect() as c:
            rows = c.execute(select(devices.c.dev, devices.c.config, devices.c.config_rev)
                             .where(devices.c.config_rev.is_not(None))).all()
        n = 0
        for dev, config, rev in rows:
            try:
                self._publish(self.topic(dev, "config"), json.dumps(dict({"v": 1, "rev": rev}, **(config or {})), ensure_ascii=False), 1, True)
                n += 1
            except PublishFailed as e:
                log.warning("config of %s not republished: %s", dev, e)
        return n

    # -- commands ----------------------------------------------------------------------

    def send_command(self, dev, cmd, args=None):
        """Record and publish a command; -> its id.  The handheld answers on
        .../cmd/result (see on_cmd_result)."""
        check_dev(dev)
        args = validate_command(cmd, args)
        if not self.exists(dev):
            raise UnknownDevice(dev)
        cid = secrets.token_hex(8)
        # Stored (and committed) before it is published: the answer can come
        # back faster than a transaction would commit.
        with self.engine.begin() as c:
            c.execute(insert(commands).values(id=cid, dev=dev, cmd=cmd, args=args, sent_at=time.time()))
        payload = json.dumps({"v": 1, "id": cid, "cmd": cmd, "args": args}, ensure_ascii=False)
        try:
            self._publish(self.topic(dev, "cmd"), payload, 1, False)
        except PublishFailed as e:
            self._finish(cid, dev, False, "not sent: %s" % e)
            raise
        return cid

    def command(self, cid):
        with self.engine.connect() as c:
            r = c.execute(select(commands).where(commands.c.id == cid)).mappings().first()
            return dict(r) if r else None

    def commands(self, dev, limit=RECENT_COMMANDS, before=None):
        # Newest first; before=(sent_at, id) continues a listing.
        q = select(commands).where(commands.c.dev == dev)
        if before is not None:
            at, cid = before
            q = q.where(or_(commands.c.sent_at < at, and_(commands.c.sent_at == at, commands.c.id < cid)))
        q = q.order_by(commands.c.sent_at.desc(), commands.c.id.desc()).limit(limit)
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(q).mappings()]

    def _finish(self, cid, dev, ok, detail):
        with self.engine.begin() as c:
            return c.execute(update(commands).where(commands.c.id == cid, commands.c.dev == dev, commands.c.done_at.is_(None))
                             .values(ok=ok, detail=detail, done_at=time.time())).rowcount

    def on_cmd_result(self, dev, payload):
        """A handheld's answer on .../cmd/result.  Never raises: whatever a
        device sends is logged, not thrown back into the MQTT loop.
        ok true/false ends the command; ok null is progress (OTA) and only
        updates detail while the command is still running."""
        try:
            self._on_cmd_result(dev, payload)
        except Exception:
            log.exception("cmd/result from %r not recorded", dev)

    def _on_cmd_result(self, dev, payload):
        if isinstance(payload, (bytes, bytearray)) and len(payload) > MAX_RESULT_BYTES:
            log.warning("cmd/result from %r ignored: %d bytes", dev, len(payload))
            return
        try:
            msg = orjson.loads(payload)  # as the ingest: a lone surrogate is not JSON text (nor storable)
        except (ValueError, TypeError, UnicodeDecodeError) as e:
            log.warning("cmd/result from %r ignored: not JSON (%s)", dev, e)
            return
        if not isinstance(msg, dict):
            log.warning("cmd/result from %r ignored: not a JSON object", dev)
            return
        if msg.get("v") != 1:
            log.warning("cmd/result from %r ignored: v must be 1, got %r", dev, msg.get("v"))
            return
        cid, ok = msg.get("id"), msg.get("ok")
        if not isinstance(cid, str) or not COMMAND_ID.fullmatch(cid):
            log.warning("cmd/result from %r ignored: id must be a command id, got %r", dev, cid)
            return
        if ok is not None and not isinstance(ok, bool):
            log.warning("cmd/result %s from %r ignored: ok must be true, false or null, got %r", cid, dev, ok)
            return
        detail = msg.get("detail")
        if ok is None:
            with self.engine.begin() as c:
                n = c.execute(update(commands).where(commands.c.id == cid, commands.c.dev == dev, commands.c.done_at.is_(None))
                              .values(detail=detail)).rowcount
        else:
            n = self._finish(cid, dev, ok, detail)
        if n == 0:
            row = self.command(cid)
            if row is None or row["dev"] != dev:
                log.warning("cmd/result from %r ignored: no command %r was sent to it", dev, cid)
            else:  # a redelivered result, or progress after the end
                log.info("cmd/result %s from %r ignored: the command is already done", cid, dev)
