"""Handhelds: list, detail, names, config push (admin) and commands (operator)."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, status

from gateway.api.auth import Admin, Operator, require_reader
from gateway.api.deps import RegistryDep, not_found, unprocessable
from gateway.api.models import (
    CommandIn,
    CommandOut,
    ConfigPushed,
    DeviceDetail,
    DeviceOut,
    DevicePatch,
    Page,
    settings_schema,
)
from gateway.api.params import CursorParam, Limit, decode_cursor, encode_cursor, page
from gateway.devices import CommandError, PublishFailed, SettingError, UnknownDevice

router = APIRouter(prefix="/devices", tags=["devices"], dependencies=[Depends(require_reader)])

DevPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00]+$", description="Device id, e.g. hh0a1b2c3d4e5f.")]
NOT_FOUND = {404: {"description": "The gateway does not know this device."}}
NO_MQTT = {503: {"description": "The gateway has no MQTT connection to send it on."}}


def _unknown(dev):
    return not_found("no device %r: it has not connected yet (register it with PATCH /api/devices/%s)" % (dev, dev))


@router.get("", response_model=Page[DeviceOut])
def list_devices(
    registry: RegistryDep,
    online: Annotated[bool | None, Query(description="Only online (true) or offline (false) devices.")] = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
):
    """Devices ordered by id."""
    after = decode_cursor(cursor, "devices", str)
    rows = registry.list(online=online, after=after[0] if after else None, limit=limit + 1)
    return page(rows, limit, lambda r: encode_cursor("devices", r["dev"]))


@router.get("/{dev}", response_model=DeviceDetail, responses=NOT_FOUND)
def get_device(registry: RegistryDep, dev: DevPath):
    d = registry.get(dev)
    if d is None:
        raise _unknown(dev)
    return d


@router.patch("/{dev}", response_model=DeviceDetail)
def patch_device(registry: RegistryDep, _: Admin, dev: DevPath, body: DevicePatch):
    """Name and location (admin).  Registers a device that has not connected yet."""
    # A field sent as null clears it; a field left out stays.
    fields = {k: (getattr(body, k) or "") for k in body.model_fields_set}
    try:
        return registry.set_meta(dev, **fields)
    except ValueError as e:
        raise unprocessable(["path", "dev"] if str(e).startswith("dev:") else ["body"], str(e), dev)


@router.put("/{dev}/config", response_model=ConfigPushed, responses={**NOT_FOUND, **NO_MQTT},
            openapi_extra={"requestBody": {"content": {"application/json": {"schema": settings_schema()}}}})
def push_config(registry: RegistryDep, _: Admin, dev: DevPath, settings: Annotated[dict[str, Any], Body()]):
    """Desired settings (admin), published retained on udi/v1/dev/{dev}/config.

    They replace the previous desired settings: a handheld that reboots
    applies exactly these over its local config.json."""
    try:
        return registry.push_config(dev, settings)
    except SettingError as e:
        raise unprocessable(["body", *e.key.split(".")], e.message, settings.get(e.key.split(".")[0]))
    except UnknownDevice:
        raise _unknown(dev)
    except PublishFailed as e:
        raise HTTPException(status_code=503, detail=str(e))
    except ValueError as e:
        raise unprocessable(["path", "dev"], str(e), dev)


@router.post("/{dev}/commands", response_model=CommandOut, status_code=status.HTTP_202_ACCEPTED,
             responses={**NOT_FOUND, **NO_MQTT})
def send_command(registry: RegistryDep, _: Operator, dev: DevPath, body: CommandIn):
    """Send a command (operator); the handheld's answer appears in GET .../commands."""
    try:
        cid = registry.send_command(dev, body.cmd, body.args)
    except CommandError as e:
        raise unprocessable(["body", *e.field.split(".")], e.message)
    except UnknownDevice:
        raise _unknown(dev)
    except PublishFailed as e:
        raise HTTPException(status_code=503, detail=str(e))
    except ValueError as e:
        raise unprocessable(["path", "dev"], str(e), dev)
    return registry.command(cid)


@router.get("/{dev}/commands", response_model=Page[CommandOut], responses=NOT_FOUND)
def list_commands(registry: RegistryDep, dev: DevPath, limit: Limit = 100, cursor: CursorParam = None):
    """Commands sent to the device, newest first."""
    if not registry.exists(dev):
        raise _unknown(dev)
    before = decode_cursor(cursor, "commands", (int, float), str)
    rows = registry.commands(dev, limit=limit + 1, before=before)
    return page(rows, limit, lambda r: encode_cursor("commands", r["sent_at"], r["id"]))
