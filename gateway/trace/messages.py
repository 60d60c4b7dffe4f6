"""What each traceability finding means, for the operator (zh) and the admin
(en).  Codes are stable ids: they appear in answers, scans.codes and alerts."""

CATALOGUE = {
    # 一物一码
    "used_twice": ("此件已使用过，不能再次使用（一物一码）", "This unit was already used/dispensed; a serialised code is used once."),
    "already_used": ("此件已使用，不能再入库或出库", "This unit was already used; it cannot be received or dispatched."),
    "not_received_here": ("此件未在本地点入库，不能出库", "This unit was never received at this location; it cannot be dispatched from here."),
    # recall, expiry
    "recalled": ("此产品已召回/禁用，请隔离", "This product, lot or serial is recalled / blocked: quarantine it."),
    "expired": ("已过有效期", "Past its expiry date."),
    "expires_soon": ("即将过期", "Expires within the warning window."),
    # 装箱 (aggregation)
    "agg_child_not_serialised": ("子件没有序列号，无法装箱", "A child without a serial cannot be aggregated."),
    "agg_child_invalid": ("子件码无效，不能装箱", "A child code is invalid and cannot be aggregated."),
    "agg_already_packed": ("此件已在另一箱中，请先拆箱", "This unit is already in another case; un-aggregate it first."),
    "agg_duplicate_child": ("此件已扫入本箱", "This unit is already in this case."),
    "agg_wrong_child": ("子件与箱内应装产品不符", "This child is not the product the parent's packaging chain contains."),
    "agg_level_order": ("子件包装级别不低于父件", "The child's package level is not below the parent's."),
    "agg_count_mismatch": ("箱内数量与包装规格不符", "The number of children contradicts the parent's quantity."),
    "agg_count_over": ("箱内数量已超过包装规格", "More children than the parent's quantity allows."),
    "agg_count_short": ("上一箱数量不足", "The previous case was closed with fewer children than its quantity."),
    "agg_no_parent": ("尚未扫描父件（箱码）", "No parent scanned yet in a parent-first session."),
    "agg_parent_not_unit": ("父件码不能标识唯一的箱（需要SSCC或序列号）", "The parent code does not identify one case (needs an SSCC or a serial)."),
    "agg_no_session": ("装箱扫描缺少会话信息", "An aggregate-mode scan without its session field."),
}


def describe(code, lang="zh"):
    entry = CATALOGUE.get(code)
    if entry is None:
        return code
    return entry[0] if lang == "zh" else entry[1]
