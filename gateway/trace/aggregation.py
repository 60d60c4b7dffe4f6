"""装箱 / 大中小包装级联: parents (SSCC or serialised case) and what they hold.

Handhelds build sessions (children then parent, or parent then children);
the print line packs a parent with its children in one call.  Both go through
the same checks: every child is a serialised, valid unit not already in a
live parent; it is the product the parent's packaging chain contains (GS1
SSCC: AI 02 CONTENT; a case DI: the master's contains_di) at a lower package
level; and the count equals the parent's quantity (AI 37, or contains_qty)."""

import time

from sqlalchemy import and_, insert, select, update

from gateway.schema import agg_sessions, aggregations
from gateway.trace.identity import item_key
from gateway.trace.rules import finding
from udi_codes.result import is_parent


def expectation(ctx, pres):
    # -> (DI every child must have or None, count or None) for a parent.
    pi = pres.get("pi") or {}
    if pi.get("sscc"):
        count = pi.get("count")
        return pi.get("content_gtin"), int(count) if count and count.isdigit() else None
    prod = ctx.products.get(pres.get("di"))
    if prod and prod.get("contains_di"):
        return prod["contains_di"], prod.get("contains_qty")
    return None, None


def parent_info(ctx, pres):
    want_di, want_qty = expectation(ctx, pres)
    return {"item": item_key(pres), "di": pres.get("di"), "level": None if (pres.get("pi") or {}).get("sscc") else pres.get("package_level"),
            "want_di": want_di, "want_qty": want_qty}


def child_problems(ctx, parent, cres, siblings):
    # Findings for one child: its own validity, where it is, and (when the
    # parent is known) whether it fits the parent.
    if not cres.get("valid"):
        return [finding("agg_child_invalid", True, False, cres.get("raw", ""))]
    entry = child_entry(cres)
    if entry["item"] is None:
        return [finding("agg_child_not_serialised", True, False, cres.get("raw", ""))]
    if any(s["item"] == entry["item"] for s in siblings):
        return [finding("agg_duplicate_child", True, False, entry["item"])]
    holder = ctx.holder(entry["item"])
    if holder is not None and (parent is None or holder != parent["item"]):
        return [finding("agg_already_packed", True, True, "in %s" % holder)]
    return fit_problems(parent, entry) if parent is not None else []


def fit_problems(parent, entry):
    # Is this child what the parent's packaging holds, at a lower level?
    out = []
    if parent["want_di"] and entry["di"] != parent["want_di"]:
        out.append(finding("agg_wrong_child", True, False, "%s is not %s" % (entry["di"], parent["want_di"])))
    if isinstance(parent["level"], int) and isinstance(entry["level"], int) and not entry["sscc"] and entry["level"] >= parent["level"]:
        out.append(finding("agg_level_order", True, False, "child level %d, parent level %d" % (entry["level"], parent["level"])))
    return out


def child_entry(cres):
    pi = cres.get("pi") or {}
    return {"item": item_key(cres), "di": cres.get("di"), "lot": pi.get("lot"), "serial": pi.get("serial"),
            "expiry": pi.get("expiry"), "level": cres.get("package_level"), "sscc": bool(pi.get("sscc"))}


def count_problems(parent, n):
    want = parent["want_qty"]
    if want is not None and n != want:
        return [finding("agg_count_mismatch", True, True, "%d children, parent holds %d" % (n, want))]
    return []


def link(ctx, parent, children, session, source):
    now = time.time()
    rows = [{"parent": parent["item"], "child": c["item"], "session": session, "source": source, "created_at": now}
            for c in children]
    if rows:
        ctx.conn.execute(insert(aggregations), rows)
    kids = ctx.children(parent["item"])
    for c in children:
        ctx.packed[c["item"]] = parent["item"]
        kids.append(c["item"])
        ctx.remember_unit(c)


# --- handheld sessions ----------------------------------------------------------

def on_scan(ctx, scan):
    # Findings for one aggregate-mode scan; links and session state are
    # written through ctx in the batch's transaction.
    res, agg = scan["res"], scan["agg"]
    if not isinstance(agg, dict) or not isinstance(agg.get("session"), str):
        return [finding("agg_no_session", True, False)]
    role = agg.get("role") if agg.get("role") in ("parent", "child") else ("parent" if is_parent(res) else "child")
    order = agg.get("order") if agg.get("order") in ("children_first", "parent_first") else "children_first"
    sess = ctx.session(scan["dev"], agg["session"], order)
    if role == "parent":
        return _parent_scan(ctx, scan, sess, order)
    return _child_scan(ctx, scan, sess, order)


def _parent_scan(ctx, scan, sess, order):
    res = scan["res"]
    parent = parent_info(ctx, res)
    if parent["item"] is None:
        return [finding("agg_parent_not_unit", True, False, res.get("raw", ""))]
    out = []
    if order == "parent_first":
        # A new parent closes the device's previous parent-first session.
        prev = ctx.open_session(scan["dev"], exclude=sess["session"])
        if prev is not None:
            out += close(ctx, prev)
        sess.update(parent=parent, state="open")
        ctx.remember_unit(dict(child_entry(res), item=parent["item"]))
        return out
    # Children first: the parent closes the session; nothing is linked
    # unless every child fits and the count is right.
    problems = []
    for c in sess["children"]:
        problems += fit_problems(parent, c)
    problems += count_problems(parent, len(sess["children"]))
    sess["parent"] = parent
    if problems:
        sess.update(state="rejected", problems=[p[0] for p in problems])
        return problems
    link(ctx, parent, sess["children"], sess["session"], scan["dev"])
    ctx.remember_unit(dict(child_entry(res), item=parent["item"]))
    sess["state"] = "closed"
    return []


def _child_scan(ctx, scan, sess, order):
    res = scan["res"]
    parent = sess.get("parent") if order == "parent_first" else None
    if order == "parent_first" and parent is None:
        return [finding("agg_no_parent", True, False)]
    if sess["state"] != "open":
        # children after a closed/rejected session start it afresh
        sess.update(state="open", children=[], problems=None, parent=None if order == "children_first" else parent)
    problems = child_problems(ctx, parent, res, sess["children"])
    if any(p[1] for p in problems):
        return problems
    entry = child_entry(res)
    if parent is not None:
        want = parent["want_qty"]
        if want is not None and len(sess["children"]) >= want:
            return [finding("agg_count_over", True, False, "the parent holds %d" % want)]
        link(ctx, parent, [entry], sess["session"], scan["dev"])
    sess["children"].append(entry)
    return problems


def close(ctx, sess):
    # Ends a parent-first session: a short count is an alert, not undone.
    sess["state"] = "closed"
    parent = sess.get("parent")
    if parent and parent["want_qty"] is not None and len(sess["children"]) < parent["want_qty"]:
        detail = "%s closed with %d of %d" % (parent["item"], len(sess["children"]), parent["want_qty"])
        sess["problems"] = ["agg_count_short"]
        return [finding("agg_count_short", False, True, detail)]
    return []


# --- the print line and the API ---------------------------------------------------

def pack(ctx, pres, children_res, source):
    # One parent with all its children at once -> list of findings; links
    # are written only when there is no bad finding.
    parent = parent_info(ctx, pres)
    if not pres.get("valid"):
        return [finding("agg_parent_not_unit", True, False, pres.get("raw", ""))]
    if parent["item"] is None:
        return [finding("agg_parent_not_unit", True, False, pres.get("raw", ""))]
    problems, entries = [], []
    for cres in children_res:
        p = child_problems(ctx, parent, cres, entries)
        problems += p
        if not any(f[1] for f in p):
            entries.append(child_entry(cres))
    if not problems:
        problems = count_problems(parent, len(entries))
    if any(p[1] for p in problems):
        return problems
    link(ctx, parent, entries, None, source)
    ctx.remember_unit(dict(child_entry(pres), item=parent["item"]))
    return problems


def unpack(conn, parent, child=None):
    # 拆箱: ends the live links of a parent (or of one child) -> count.
    cond = [aggregations.c.parent == parent, aggregations.c.removed_at.is_(None)]
    if child is not None:
        cond.append(aggregations.c.child == child)
    return conn.execute(update(aggregations).where(and_(*cond)).values(removed_at=time.time())).rowcount


def children_of(conn, parent):
    q = select(aggregations.c.child).where(aggregations.c.parent == parent, aggregations.c.removed_at.is_(None))
    return [r[0] for r in conn.execute(q.order_by(aggregations.c.id))]


def contents(conn, parent, depth=8):
    # What is in this case: {"item": parent, "children": [... recursively]}.
    kids = children_of(conn, parent) if depth > 0 else []
    return {"item": parent, "children": [contents(conn, k, depth - 1) for k in kids]}


def containers(conn, child, depth=8):
    # Which case holds this unit, and which pallet holds that case: [parent, grandparent, …].
    out = []
    while depth > 0:
        row = conn.execute(select(aggregations.c.parent).where(
            aggregations.c.child == child, aggregations.c.removed_at.is_(None))).first()
        if row is None:
            break
        out.append(row[0])
        child = row[0]
        depth -= 1
    return out


def leaves(ctx, parent, depth=8):
    # The units at the bottom of a parent's tree (what stock counts).
    kids = ctx.children(parent) if depth > 0 else []
    if not kids:
        return []
    out = []
    for k in kids:
        sub = leaves(ctx, k, depth - 1)
        out.extend(sub if sub else [k])
    return out
