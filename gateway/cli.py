"""udi-edge command line: one entry for every job the project runs."""

import argparse
import json
import sys
import time

import udi_codes

GS_SPELLINGS = ("\\x1d", "\\x1D", "<GS>", "{GS}")


def unescape_gs(arg):
    # Shells cannot pass byte 0x1D easily; accept the usual spellings.
    for s in GS_SPELLINGS:
        arg = arg.replace(s, "\x1d")
    return arg


def _dump(res):
    return json.dumps(res, ensure_ascii=False)


def bad_line_result(line, why):
    # A batch line that is not {"raw": "..."}: an error result, not a crash.
    res = udi_codes.R.new(None, "unknown")
    udi_codes.R.error(res, "bad_input_line", why)
    res["input"] = line[:200]
    return udi_codes.R.finish(res)


def cmd_check(args):
    if args.jsonl:
        out = sys.stdout
        for line in sys.stdin:
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                out.write(_dump(bad_line_result(line, "not JSON: %s" % e)) + "\n")
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("raw"), str):
                out.write(_dump(bad_line_result(line, 'expected an object {"raw": "<string>"}')) + "\n")
                continue
            profile = obj.get("profile", args.profile)
            if profile not in ("read", "print"):
                profile = args.profile
            today = obj.get("today") if isinstance(obj.get("today"), str) else args.today
            out.write(_dump(udi_codes.parse(obj["raw"], profile, today)) + "\n")
        out.flush()
        return 0
    if not args.raw:
        print("udi-edge check: give codes as arguments, or --jsonl to read JSON lines from stdin", file=sys.stderr)
        return 2
    for raw in args.raw:
        print(_dump(udi_codes.parse(unescape_gs(raw), args.profile, args.today)))
    return 0


def cmd_station(args):
    # A scanner station: every line a keyboard-wedge scanner (or a person)
    # types is checked at once.
    from gateway import station

    return station.run(sys.stdin, sys.stdout, args.today, demo=args.demo)


def cmd_run(args):
    from gateway import config as C
    from gateway import service

    cfg, problems = C.load(args.config)
    if problems:
        for p in problems:
            print("config: " + p, file=sys.stderr)
        return 2
    # Without a config file: the demo set-up, with simulated handhelds and
    # the virtual printer.
    handhelds = args.handhelds if args.handhelds is not None else (cfg["demo"]["handhelds"] if args.config else 3)
    if not args.config:
        cfg["printing"]["virtual_printer"] = True
        cfg["demo"]["print_job"] = True
    service.run(cfg, handhelds=handhelds, scans=args.scans or cfg["demo"]["scans"], rate=cfg["demo"]["rate"],
                seconds=args.seconds, out=lambda s: print(s, flush=True))
    return 0


def cmd_config_check(args):
    from gateway import config as C

    cfg, problems = C.load(args.config)
    for p in problems:
        print("problem: " + p)
    if not problems:
        print("configuration is valid: database %s, broker %s" % (
            C.database_url(cfg), cfg["mqtt"]["url"] or "embedded (127.0.0.1:%d)" % cfg["mqtt"]["port"]))
    return 1 if problems else 0


def cmd_sim_precheck(args):
    # The firmware's pre-check inside the MicroPython VM, over JSON lines:
    # the conformance interface between firmware and gateway.
    import os
    import subprocess

    from gateway.sim import vm

    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sim", "mp_precheck.py")
    cmd = vm.command(script, args.heap)
    if args.today:
        cmd.append("--today=" + args.today)
    return subprocess.run(cmd, env=vm.env(), cwd=vm.bundle()).returncode


def cmd_sim_handhelds(args):
    from gateway.sim import handhelds

    summary = handhelds.run(
        count=args.count, broker=args.broker, codes=args.codes, per_device=args.scans,
        rate=args.rate, root=args.root, heap=args.heap, per_vm=args.per_vm,
        user=args.user, password=args.password,
    )
    print(json.dumps(summary))
    return 0 if summary["undelivered"] == 0 else 1


def _config(args):
    # The configuration given with --config (or the default); its problems end the command.
    from gateway import config as C

    cfg, problems = C.load(getattr(args, "config", None))
    if problems:
        raise SystemExit("config: " + "; ".join(problems))
    return cfg


def _db_url(args):
    # The database of the configuration given with --config (or the default).
    from gateway import config as C

    import os

    cfg = _config(args)
    os.makedirs(cfg["data_dir"], exist_ok=True)  # the SQLite file lives there (first use on a fresh machine)
    return C.database_url(cfg)


def _store(args):
    from gateway.store import Store

    return Store(_db_url(args))


def cmd_token(args):
    # API tokens for machines (ERP, MES, scripts): shown once, only a hash is kept.
    from gateway.api import auth

    engine = _store(args).engine
    if args.token_cmd == "create":
        try:
            # scopes instead of a role when given (--scope scans:read --scope master:read)
            print(auth.create_token(engine, args.name, None if args.scope else args.role, args.scope))
        except ValueError as e:
            print("token: %s" % e, file=sys.stderr)
            return 1
    elif args.token_cmd == "revoke":
        try:
            print("revoked" if auth.revoke_token(engine, args.name) else "was already revoked")
        except KeyError:
            print("token: no token named %r" % args.name, file=sys.stderr)
            return 1
    elif args.token_cmd == "scopes":
        for area in auth.AREAS:
            print("%-8s %s" % (area, " ".join("%s:%s" % (area, level) for level in auth.LEVELS)))
    else:
        for t in auth.list_tokens(engine):
            scopes = " ".join(t["scopes"]) if t["role"] == auth.SCOPED else " ".join(
                "*:" + level for level in auth.LEVELS[:auth.RANK[t["role"]] + 1])
            print("%-24s %-8s %-7s %s" % (t["name"], t["role"], "revoked" if t["revoked_at"] else "active", scopes))
    return 0


def cmd_device(args):
    # Handheld logins on the embedded broker: the password is shown once, to
    # go into the handheld's config.json (mqtt.user = device id).
    import os

    from gateway import config as C
    from gateway.devices import DeviceRegistry
    from gateway.mqtt_access import Access, AccessError

    cfg, problems = C.load(args.config)
    if problems:
        print("config: " + "; ".join(problems), file=sys.stderr)
        return 2
    if cfg["mqtt"]["url"] and args.device_cmd != "list":
        print("device: mqtt.url points at an external broker; create the login there (docs/protocol.md has the ACL)", file=sys.stderr)
        return 2
    access = Access(os.path.join(cfg["data_dir"], "broker"), cfg["mqtt"]["topic_prefix"])
    access.prepare()
    registry = DeviceRegistry(_store(args).engine, None, cfg["mqtt"]["topic_prefix"])
    try:
        if args.device_cmd == "add":
            password = access.provision(args.dev)
            registry.set_meta(args.dev, name=args.name, location=args.location)
            login = {"user": args.dev, "password": password}
            if cfg["mqtt"]["tls_port"] is not None:
                # the handheld's side of the TLS set-up: the site CA goes to its flash as ca.crt
                login.update(port=cfg["mqtt"]["tls_port"], tls=True, ca_file="ca.crt")
            print(json.dumps({"mqtt": login}))
        elif args.device_cmd == "revoke":
            print("revoked" if access.revoke(args.dev) else "no login for %s" % args.dev)
        else:
            logins = set(access.users())
            for d in registry.list():
                print("%-20s %-8s %s" % (d["dev"], d.get("state") or "-", "login" if d["dev"] in logins else "no login"))
    except AccessError as e:
        print("device: %s" % e, file=sys.stderr)
        return 1
    return 0


def cmd_certs(args):
    # The site CA and the broker's certificate for MQTT over TLS (gateway.tls).
    import os

    from gateway import config as C
    from gateway.tls import CertError, Certs

    cfg, problems = C.load(args.config)
    if problems:
        print("config: " + "; ".join(problems), file=sys.stderr)
        return 2
    certs = Certs(os.path.join(cfg["data_dir"], "tls"))
    try:
        if args.certs_cmd == "init":
            made = certs.init(args.host)
            print(json.dumps(certs.describe(made["server_cert"]), ensure_ascii=False))
            print("site CA: %s (copy it to each handheld as ca.crt; keep %s secret)" % (certs.ca_cert, certs.ca_key))
        elif args.certs_cmd == "device":
            cert, key = certs.device(args.dev)
            print(json.dumps({"cert": cert, "key": key}))
        else:
            for path in (certs.ca_cert, certs.server_cert):
                print(json.dumps(certs.describe(path), ensure_ascii=False) if os.path.exists(path) else "missing: " + path)
    except (CertError, OSError) as e:
        print("certs: %s" % e, file=sys.stderr)
        return 1
    return 0


def cmd_grade(args):
    # Grade label images like a verifier (ISO/IEC 15415 / 15416 from an image).
    from PIL import Image

    from gateway.quality.grade import grade_image
    from gateway.quality.reflectance import Calibration

    cal = None
    if args.calibration:
        light, dark = (float(v) for v in args.calibration.split(":")[0].split(","))
        light_r, dark_r = (float(v) for v in args.calibration.split(":")[1].split(","))
        cal = Calibration(light, light_r, dark, dark_r)
    worst = 4.0
    for path in args.images:
        try:
            image = Image.open(path)
        except OSError as e:
            print(json.dumps({"image": path, "error": "cannot read the image: %s" % e}))
            worst = 0.0
            continue
        for r in grade_image(image, dpi=args.dpi, expect=args.expect or None, calibration=cal, today=args.today):
            r["image"] = path
            worst = min(worst, r["overall"]["grade"])
            if args.json:
                print(json.dumps(r, ensure_ascii=False))
            else:
                print("%s  %s  %s  %s%s" % (path, r["overall"]["notation"], r["overall"]["letter"], r["decoded"] and repr(r["decoded"]),
                                           "" if r.get("match") is not False else "  DATA MISMATCH"))
    return 0 if worst >= args.min_grade else 1


def cmd_user(args):
    # Panel users (people); machines use API tokens.  A password comes from
    # UDI_EDGE_PASSWORD or is asked for, never from the command line (shell
    # history).  The same rules as the panel's Users page (gateway.panel.users):
    # the CLI acts as the operating-system user, so it may change any account
    # but still may not leave the panel without an active admin.
    import getpass
    import os

    from gateway.panel import users

    engine = _store(args).engine
    cmd = args.user_cmd
    try:
        if cmd == "list":
            for u in users.list_users(engine):
                locked = (u.get("locked_until") or 0) > time.time()
                state = "disabled" if u["disabled"] else ("locked" if locked else "active")
                print("%-24s %-9s %-9s sessions=%d" % (u["name"], u["role"], state, u.get("sessions") or 0))
            return 0
        if cmd in ("add", "passwd"):
            password = os.environ.get("UDI_EDGE_PASSWORD") or getpass.getpass("password for %s: " % args.name)
            if cmd == "add":
                users.create_user(engine, args.name, password, args.role)
                print("user %s (%s) added" % (args.name, args.role))
            else:
                users.set_password(engine, args.name, password)
                print("password of %s set (lock-out cleared)" % args.name)
        elif cmd == "role":
            changed = users.set_role(engine, args.name, args.role)
            print("%s is %s%s" % (args.name, args.role, "" if changed else " already"))
        elif cmd in ("disable", "enable"):
            changed = users.set_disabled(engine, args.name, cmd == "disable")
            print("%s %s%s" % (args.name, "already " if not changed else "", cmd + "d"))
        elif cmd == "unlock":
            users.unlock(engine, args.name)
            print("%s unlocked" % args.name)
    except KeyError:
        print("user: no panel user named %r" % args.name, file=sys.stderr)
        return 1
    except ValueError as e:
        print("user: %s" % (e.args[-1] if e.args else e), file=sys.stderr)
        return 1
    return 0


def cmd_site(args):
    # The gateways sharing this database (docs/deployment.md); retiring one for good.
    import time

    from gateway import config as C
    from gateway import site

    cfg = _config(args)
    store = _store(args)
    if args.site_cmd == "give-printer":
        from gateway.printing.jobs import JobError, PrintJobs

        to = None if args.gateway == "-" else args.gateway
        if to is not None and not C.GATEWAY_ID.match(to):
            print("site give-printer: a gateway id is 1-32 of A-Z a-z 0-9 _ - (or - for nobody), got %r" % to, file=sys.stderr)
            return 2
        try:
            PrintJobs(store.engine).give_printer(args.printer, to, actor="cli")
        except (LookupError, JobError) as e:
            print("site give-printer: %s" % (e.args[0] if isinstance(e, LookupError) else e), file=sys.stderr)
            return 1
        print("printer %s is run by %s now" % (args.printer, "gateway " + to if to else "whichever gateway starts its job"))
        return 0
    if args.site_cmd == "list":
        for g in site.members(store.engine):
            st = g.get("stats") or {}
            print("%-20s %-12s last seen %s  scans %s  %s" % (g["id"], "running" if g["alive"] else "not running",
                  time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(g["last_seen"])), st.get("scans", "-"), g.get("host") or ""))
        return 0
    from gateway.ingest import Ingest
    from gateway.tls import client_context
    from gateway.trace import Tracer

    m = cfg["mqtt"]
    host, port, tls = C.broker_address(cfg)
    if host is None or not cfg["gateway_id"]:
        print("site retire: this is for a gateway of a site (gateway_id and mqtt.url set); a gateway alone has its own broker",
              file=sys.stderr)
        return 2
    gid = cfg["gateway_id"]
    up, _seen = site.alive(store.engine, gid)
    if up:
        print("site retire: gateway %s is running (or stopped less than %d s ago): stop it first (systemctl stop udi-edge)"
              % (gid, site.ALIVE_S), file=sys.stderr)
        return 1
    ingest = Ingest(store, host, port, m["topic_prefix"], m["user"], m["password"], m["max_payload"], gateway_id=gid,
                    tracer=Tracer(expiry_warn_days=cfg["trace"]["expiry_warn_days"]),
                    tls=client_context(m["ca_file"], m["cert_file"], m["key_file"]) if tls else None, shared=True)
    if not ingest.retire():
        print("site retire: the broker's session of %s was not ended (see the log); try again" % gid, file=sys.stderr)
        return 1
    print("gateway %s retired: %d scans the broker kept for it stored, its session ended" % (gid, ingest.stats["scans"] + ingest.stats["duplicates"]))
    return 0


def cmd_db(args):
    if args.db_cmd == "upgrade":
        return cmd_db_upgrade(args)
    # Backups (docs/deployment.md): one file, checked after it is written.
    from gateway import backup

    url = _db_url(args)
    try:
        if args.db_cmd == "backup":
            r = backup.backup(url, args.file)
            print("backup of the %s database written to %s (%d bytes)" % (r["kind"], r["path"], r["bytes"]))
        else:
            r = backup.restore(url, args.file, args.advance_serials)
            print("restored %s into the %s database (%d tables, at this version's schema; %d serial pools moved on by %d)"
                  % (args.file, r["kind"], r["tables"], r["pools_advanced"], args.advance_serials))
    except backup.BackupError as e:
        print("db %s: %s" % (args.db_cmd, e), file=sys.stderr)
        return 1
    return 0


def cmd_db_upgrade(args):
    # Store() migrates on open; this is the explicit form for operators.
    store = _store(args)
    print("database at the current schema: %s" % store.engine.url.render_as_string(hide_password=True))
    return 0


def build_parser():
    p = argparse.ArgumentParser(prog="udi-edge", description="UDI Edge: scan, check, print and verify medical traceability codes")
    sub = p.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("check", help="check codes and print one JSON result each")
    c.add_argument("raw", nargs="*", help="scan data; write GS as \\x1d, <GS> or {GS}")
    c.add_argument("--jsonl", action="store_true", help='read {"raw": ...} JSON lines from stdin, write one result per line')
    c.add_argument("--profile", choices=("read", "print"), default="read")
    c.add_argument("--today", help="reference date YYYY-MM-DD for expiry (default: today)")
    c.set_defaults(func=cmd_check)

    sim = sub.add_parser("sim", help="simulators: handheld firmware on the MicroPython VM, scan engines")
    simsub = sim.add_subparsers(dest="sim_cmd", required=True)
    sp = simsub.add_parser("precheck", help="the firmware pre-check on the MicroPython VM: JSON lines {\"raw\": ...} in, verdicts out")
    sp.add_argument("--jsonl", action="store_true", required=True, help="read JSON lines from stdin (the only mode)")
    sp.add_argument("--heap", default="100K", help="MicroPython heap size (default 100K, an ESP32's budget)")
    sp.add_argument("--today", help="reference date YYYY-MM-DD")
    sp.set_defaults(func=cmd_sim_precheck)

    sh = simsub.add_parser("handhelds", help="N handhelds running the real firmware on the MicroPython VM against a broker")
    sh.add_argument("--count", type=int, default=3)
    sh.add_argument("--broker", default="127.0.0.1:1883", help="HOST:PORT of the MQTT broker")
    sh.add_argument("--codes", help="file with one scan per line (GS as <GS>); default: generated UDI/drug codes")
    sh.add_argument("--scans", type=int, default=20, help="scans per handheld")
    sh.add_argument("--rate", type=float, default=5.0, help="scans per second per handheld")
    sh.add_argument("--root", help="directory for the handhelds' flash (outbox, boot counter); default: a temp dir")
    sh.add_argument("--heap", default="64M", help="MicroPython heap per VM")
    sh.add_argument("--per-vm", type=int, default=50, help="handhelds per VM process")
    sh.add_argument("--user")
    sh.add_argument("--password")
    sh.set_defaults(func=cmd_sim_handhelds)

    r = sub.add_parser("run", help="run the gateway (embedded broker and SQLite by default; demo handhelds without a config file)")
    r.add_argument("--config", help="TOML configuration file (default: embedded defaults)")
    r.add_argument("--handhelds", type=int, help="simulated handhelds to start (default: 3 without --config, else demo.handhelds)")
    r.add_argument("--scans", type=int, help="scans per simulated handheld")
    r.add_argument("--seconds", type=float, help="stop after this many seconds (default: run until Ctrl-C)")
    r.set_defaults(func=cmd_run)

    st = sub.add_parser("station", help="scanner station: check each line typed by a keyboard-wedge scanner")
    st.add_argument("--today", help="reference date YYYY-MM-DD")
    st.add_argument("--demo", action="store_true", help="check the built-in demo codes and exit")
    st.set_defaults(func=cmd_station)

    cf = sub.add_parser("config", help="configuration")
    cfsub = cf.add_subparsers(dest="config_cmd", required=True)
    cc = cfsub.add_parser("check", help="check a configuration file and explain every problem")
    cc.add_argument("config", nargs="?", help="TOML file")
    cc.set_defaults(func=cmd_config_check)

    tk = sub.add_parser("token", help="API tokens for machines (shown once; only a hash is stored)")
    tk.add_argument("--config", help="TOML configuration file (its database)")
    tksub = tk.add_subparsers(dest="token_cmd", required=True)
    tc = tksub.add_parser("create", help="create a token and print it")
    tc.add_argument("name")
    tc.add_argument("--role", choices=("admin", "operator", "reader"), default="reader")
    tc.add_argument("--scope", action="append", help="a scope instead of the role, e.g. scans:read (repeat; see `token scopes`)")
    tr = tksub.add_parser("revoke", help="revoke a token by name")
    tr.add_argument("name")
    tksub.add_parser("list", help="list tokens (names, roles and scopes, never the tokens)")
    tksub.add_parser("scopes", help="the scopes a token may have: <area>:read|write|admin")
    tk.set_defaults(func=cmd_token)

    gr = sub.add_parser("grade", help="grade label images like a verifier (ISO/IEC 15415 / 15416 from an image)")
    gr.add_argument("images", nargs="+", help="PNG / JPEG / TIFF images of printed labels")
    gr.add_argument("--dpi", type=float, help="image resolution (for the X-dimension in mm)")
    gr.add_argument("--expect", action="append", help="expected data: raw scan data with ]d2/GS, or GS1 HRI; repeat for several symbols")
    gr.add_argument("--calibration", help="LIGHTPX,DARKPX:LIGHT%%,DARK%% from a calibration card (else grades are relative)")
    gr.add_argument("--min-grade", type=float, default=1.5, help="exit 1 below this grade (default 1.5, GS1 healthcare)")
    gr.add_argument("--today", help="reference date YYYY-MM-DD for the code engine")
    gr.add_argument("--json", action="store_true", help="one JSON object per symbol")
    gr.set_defaults(func=cmd_grade)

    dv = sub.add_parser("device", help="handhelds: MQTT logins on the embedded broker (per device, topic ACLs)")
    dv.add_argument("--config", help="TOML configuration file")
    dvsub = dv.add_subparsers(dest="device_cmd", required=True)
    da = dvsub.add_parser("add", help="register a handheld and print its MQTT login (shown once)")
    da.add_argument("dev", help="device id, e.g. hh0a1b2c3d4e5f")
    da.add_argument("--name")
    da.add_argument("--location")
    dr = dvsub.add_parser("revoke", help="remove a handheld's MQTT login")
    dr.add_argument("dev")
    dvsub.add_parser("list", help="handhelds the gateway knows, with their login state")
    dv.set_defaults(func=cmd_device)

    ce = sub.add_parser("certs", help="MQTT over TLS: the site CA, the broker's certificate, handheld certificates")
    ce.add_argument("--config", help="TOML configuration file (its data directory)")
    cesub = ce.add_subparsers(dest="certs_cmd", required=True)
    ci = cesub.add_parser("init", help="make the site CA (once) and the broker's certificate for these names / addresses")
    ci.add_argument("--host", action="append", required=True,
                    help="a host name or IP address the handhelds use to reach the gateway (repeat for several)")
    cd = cesub.add_parser("device", help="a client certificate for a handheld (when mqtt.require_certificate is on)")
    cd.add_argument("dev", help="device id")
    cesub.add_parser("show", help="the CA's and the broker's certificate: names, expiry, fingerprint")
    ce.set_defaults(func=cmd_certs)

    us = sub.add_parser("user", help="panel users (password from UDI_EDGE_PASSWORD or asked for)")
    us.add_argument("--config", help="TOML configuration file (its database)")
    ussub = us.add_subparsers(dest="user_cmd", required=True)
    ua = ussub.add_parser("add", help="add a user")
    ua.add_argument("name")
    ua.add_argument("--role", choices=("viewer", "operator", "admin"), default="viewer")
    up = ussub.add_parser("passwd", help="set a user's password (clears a lock-out)")
    up.add_argument("name")
    ussub.add_parser("list", help="every panel user with role and state")
    ur = ussub.add_parser("role", help="change a user's role (ends their sessions)")
    ur.add_argument("name")
    ur.add_argument("role", choices=("viewer", "operator", "admin"))
    ussub.add_parser("disable", help="no sign-in, sessions end").add_argument("name")
    ussub.add_parser("enable", help="allow sign-in again").add_argument("name")
    ussub.add_parser("unlock", help="clear a lock-out without a new password").add_argument("name")
    us.set_defaults(func=cmd_user)

    si = sub.add_parser("site", help="the gateways sharing this database (a site of several, docs/deployment.md)")
    si.add_argument("--config", help="TOML configuration file of this gateway")
    sisub = si.add_subparsers(dest="site_cmd", required=True)
    sisub.add_parser("list", help="the site's gateways, running or not")
    sisub.add_parser("retire", help="this gateway (stopped) leaves the site for good: what the broker kept for it is stored, "
                                    "its session ended")
    gp = sisub.add_parser("give-printer", help="a printer is run by another gateway from now on (not while a job runs on it)")
    gp.add_argument("printer")
    gp.add_argument("gateway", help="the gateway id, or - for nobody (whichever gateway starts a job runs it)")
    si.set_defaults(func=cmd_site)

    db = sub.add_parser("db", help="database")
    db.add_argument("--config", help="TOML configuration file (its database)")
    dbsub = db.add_subparsers(dest="db_cmd", required=True)
    dbsub.add_parser("upgrade", help="bring the database to this version's schema (migrations)")
    bk = dbsub.add_parser("backup", help="back the database up to a file (SQLite online backup / pg_dump); the gateway may run")
    bk.add_argument("file")
    rs = dbsub.add_parser("restore", help="restore a backup file into the configured database, which must be empty")
    rs.add_argument("file")
    rs.add_argument("--advance-serials", type=int, default=0, metavar="N",
                    help="move every sequential serial pool N numbers on: labels printed after the backup keep theirs")
    db.set_defaults(func=cmd_db)

    from gateway.master.cli import add_commands
    from gateway.printing.render import add_cli as add_render
    from gateway.sim.printer import add_cli as add_sim_printer

    add_commands(sub, _db_url)
    add_render(sub)
    add_sim_printer(simsub)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
