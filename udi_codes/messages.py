# Bilingual (English / 简体中文) catalogue of every error, warning and note
# code the engine (udi_codes) and the gateway (gateway/cli.py) emit.
#
# Gateway only: the MicroPython firmware does not ship this module
# (tools/build_mpy.py GATEWAY_ONLY).  On the handheld a result entry carries
# its code and its precise English message; the gateway, the station and
# the panel turn it into the operator's language with describe().
#
# CATALOGUE: code -> (English one-line description, 简体中文 one-line
# description).  The English description says what the code means in
# general; the entry's own "message" says what exactly was wrong in this
# scan (values, positions).  tests/test_messages.py checks that every code
# the source can emit is here.

EN = 0
ZH = 1

CATALOGUE = {
    # --- dispatcher (udi_codes/__init__.py) and gateway ---------------------
    "unknown_scheme": (
        "The data matches no known code scheme.",
        "无法识别的编码：数据不符合任何已知的码制",
    ),
    "plain_carrier": (
        "A symbology without FNC1 (]C0, ]d1, ]Q1 …) carries plain data, never GS1 element strings.",
        "条码未启用 FNC1（]C0、]d1、]Q1 等），内容是普通数据，不是 GS1 元素串",
    ),
    "expired": (
        "The expiry date is before the reference date.",
        "产品已过有效期",
    ),
    "internal_error": (
        "The engine failed on this input (a bug: please report it with the raw data).",
        "解码引擎内部错误（程序缺陷），请连同原始数据一起反馈",
    ),
    "no_symbology_id": (
        "No symbology identifier: the code was assumed to be GS1 element strings.",
        "缺少符号标识符（如 ]d2），已按 GS1 元素串解读",
    ),
    "bad_input_line": (
        'A batch input line is not a JSON object {"raw": "<scan data>"}.',
        '批量输入行格式错误：不是 {"raw": "<扫描数据>"} 形式的 JSON 对象',
    ),
    # --- GS1 element strings (gs1.py) ---------------------------------------
    "empty_data": (
        "No GS1 data after the symbology identifier.",
        "符号标识符之后没有 GS1 数据",
    ),
    "unknown_ai": (
        "No AI in the GS1 dictionary matches the data at this position.",
        "未知的应用标识符 (AI)：GS1 字典中没有与此处数据匹配的 AI",
    ),
    "ai_data_empty": (
        "An AI has no data.",
        "应用标识符 (AI) 后没有数据",
    ),
    "ai_data_too_short": (
        "An AI's data is shorter than the dictionary allows.",
        "AI 数据长度不足，短于 GS1 规定的长度",
    ),
    "ai_data_too_long": (
        "An AI's data is longer than allowed, or a separator (GS/FNC1) is missing after it.",
        "AI 数据超长，或其后漏了分隔符 GS (FNC1)",
    ),
    "illegal_caret": (
        "The data contains '^', which GS1 data never contains.",
        "数据中含有字符 '^'，GS1 数据中不允许出现",
    ),
    "too_many_ais": (
        "More AIs in one message than the Syntax Engine accepts (64).",
        "一个条码中的 AI 个数超过上限（64 个）",
    ),
    "bad_bracketed_ai": (
        "The bracketed (HRI) input is malformed.",
        "带括号的人工识读 (HRI) 格式有误",
    ),
    "ai_exclusive": (
        "Two AIs that must not appear together were found.",
        "出现了两个不允许同时使用的 AI",
    ),
    "ai_required": (
        "An AI is missing an AI it must be used with.",
        "缺少必须与之同时使用的 AI",
    ),
    "ai_repeated": (
        "The same AI appears twice with different values.",
        "同一 AI 重复出现且取值不同",
    ),
    "digsig_needs_serial": (
        "With a digital signature (8030) the key AI must carry its serial part.",
        "带数字签名 (AI 8030) 时，主键 AI 必须包含序列号部分",
    ),
    "dd00_date": (
        "Day 00 in a production/expiry date (allowed by GS1 syntax, not for healthcare since 2025).",
        "生产日期或有效期的日为 00（GS1 语法允许，但 2025 年起医疗产品不允许）",
    ),
    "possible_missing_gs": (
        "A variable-length value looks like it swallowed a following AI (missing GS).",
        "可变长 AI 的值末尾疑似包含下一个 AI，可能漏了分隔符 GS",
    ),
    "bad_gtin": (
        "A GTIN-only symbol (EAN/UPC/ITF-14) has the wrong length or digits.",
        "商品条码（EAN/UPC/ITF-14）的位数不对或含非数字字符",
    ),
    # --- GS1 linters (gs1_lint.py, gs1_lint_rare.py) ------------------------
    "non_digit_character": (
        "A character that must be a digit is not a digit (0-9).",
        "应为数字 (0-9) 的位置出现了非数字字符",
    ),
    "invalid_character": (
        "A character is outside the character set allowed here.",
        "含有此处不允许的字符",
    ),
    "invalid_padding": (
        "Base64url '=' padding is misplaced or too long (CSET 64).",
        "Base64url 填充符 '=' 位置不对或过多（CSET 64）",
    ),
    "too_short": (
        "The data is shorter than this field requires.",
        "数据位数不足",
    ),
    "too_long": (
        "The data is longer than this field allows.",
        "数据位数超长",
    ),
    "invalid_length": (
        "The data does not have a length this field allows.",
        "数据位数不符合规定",
    ),
    "check_digit": (
        "The GS1 check digit does not match the data.",
        "校验位错误",
    ),
    "check_pair": (
        "The GS1 alphanumeric check character pair does not match the data.",
        "校验字符对错误（GS1 字母数字校验）",
    ),
    "iban_checksum": (
        "The IBAN check digits do not match the account number.",
        "IBAN 校验码与账号不符",
    ),
    "invalid_month": (
        "The month does not exist (01-12).",
        "月份无效（应为 01-12）",
    ),
    "invalid_day": (
        "The day does not exist in that month.",
        "日期无效：该月没有这一天",
    ),
    "invalid_hour": (
        "The hour does not exist (00-23).",
        "小时无效（应为 00-23）",
    ),
    "invalid_minute": (
        "The minute does not exist (00-59).",
        "分钟无效（应为 00-59）",
    ),
    "invalid_second": (
        "The second does not exist (00-59).",
        "秒无效（应为 00-59）",
    ),
    "unknown_country": (
        "Not an ISO 3166-1 country code known to GS1.",
        "不是 GS1 认可的 ISO 3166-1 国家/地区代码",
    ),
    "unknown_currency": (
        "Not an ISO 4217 numeric currency code known to GS1.",
        "不是 GS1 认可的 ISO 4217 数字货币代码",
    ),
    "unknown_package_type": (
        "Not a code of the GS1 PackageTypeCode list.",
        "不是 GS1 包装类型代码表 (PackageTypeCode) 中的代码",
    ),
    "unknown_media_type": (
        "Not an AIDC media type code (01-10, 80-99).",
        "不是有效的 AIDC 载体类型代码（01-10、80-99）",
    ),
    "invalid_sex_code": (
        "Not an ISO/IEC 5218 sex code (0, 1, 2 or 9).",
        "不是 ISO/IEC 5218 性别代码（0、1、2 或 9）",
    ),
    "not_yes_no": (
        "The value must be 0 (no) or 1 (yes).",
        "取值只能是 0（否）或 1（是）",
    ),
    "invalid_winding": (
        "The winding direction must be 0, 1 or 9.",
        "卷绕方向只能是 0、1 或 9",
    ),
    "not_hyphen": (
        "Only hyphens ('-') are allowed here.",
        "此处只允许连字符 '-'",
    ),
    "not_zero": (
        "The value must be zero.",
        "取值必须为 0",
    ),
    "zero_value": (
        "The value must not be zero.",
        "取值不能为 0",
    ),
    "zero_prefix": (
        "The number must not start with a zero.",
        "数字不能以 0 开头",
    ),
    "requires_non_digit": (
        "The data must contain at least one non-digit character.",
        "数据中至少要有一个非数字字符",
    ),
    "gcp_too_short": (
        "Too few digits for a GS1 Company Prefix (at least 4).",
        "位数不足以构成 GS1 厂商识别代码（至少 4 位）",
    ),
    "invalid_gcp": (
        "The data does not start with a GS1 Company Prefix (digits).",
        "数据不是以 GS1 厂商识别代码（数字）开头",
    ),
    "invalid_percent_encoding": (
        "A '%' is not followed by two hexadecimal digits.",
        "'%' 后面不是两位十六进制数字",
    ),
    "out_of_range": (
        "The value is outside the allowed range.",
        "数值超出允许范围",
    ),
    "exceeds_total": (
        "The position or piece number is larger than the total.",
        "序号（件号）大于总数",
    ),
    "malformed_sequence": (
        "The value is not of the form <position>/<total>.",
        "格式应为 <序号>/<总数>",
    ),
    "coupon_missing_field": (
        "The coupon data ends before a required field.",
        "优惠券数据不完整：缺少必填字段",
    ),
    "coupon_invalid_field": (
        "A coupon field holds a value that is not allowed.",
        "优惠券字段的取值不允许",
    ),
    "coupon_truncated_field": (
        "A coupon field is shorter than its length indicator says.",
        "优惠券字段短于其长度指示位所示的长度",
    ),
    "coupon_invalid_date": (
        "A coupon date is not a real date.",
        "优惠券日期不是有效日期",
    ),
    "coupon_expiry_before_start": (
        "The coupon expires before its start date.",
        "优惠券截止日期早于开始日期",
    ),
    "coupon_excess_data": (
        "The coupon has data after its last valid field.",
        "优惠券最后一个有效字段之后还有多余数据",
    ),
    # --- GS1 Digital Link (gs1_dl.py) ---------------------------------------
    "dl_illegal_character": (
        "The Digital Link URI contains a character that is not allowed in a URI.",
        "GS1 数字链接 URI 中含有 URI 不允许的字符",
    ),
    "dl_bad_scheme": (
        "The URI must start with http:// or https:// (all lower or all upper case).",
        "URI 必须以 http:// 或 https:// 开头（全小写或全大写）",
    ),
    "dl_bad_domain": (
        "The domain name contains a character not allowed in a domain.",
        "域名中含有不允许的字符",
    ),
    "dl_no_domain_or_path": (
        "The URI needs a domain and a path after the scheme.",
        "URI 的 http(s):// 之后缺少域名或路径",
    ),
    "dl_no_primary_key": (
        "No GS1 primary key (e.g. /01/<GTIN>) ends the URI path, or the path does not end in /AI/value pairs.",
        "URI 路径末尾没有 GS1 主键（如 /01/<GTIN>），或路径不是以 /AI/值 成对结尾",
    ),
    "dl_unknown_ai": (
        "A numeric path segment or query parameter is not a known GS1 AI.",
        "路径段或查询参数是数字，但不是已知的 GS1 应用标识符 (AI)",
    ),
    "dl_empty_value": (
        "An AI in the path or in the query has an empty value.",
        "路径或查询参数中的 AI 值为空",
    ),
    "dl_bad_percent_escape": (
        "A percent-escape decodes to the NUL character (%00).",
        "百分号转义解码后为 NUL 字符 (%00)",
    ),
    "dl_bad_gtin_length": (
        "The GTIN (01) does not have 14 digits (zero-suppressed GTIN-8/12/13 are not enabled).",
        "GTIN (AI 01) 不是 14 位（未启用 GTIN-8/12/13 补零）",
    ),
    "dl_not_qualifier": (
        "An AI in the path after the primary key is not a key qualifier of that key.",
        "路径中主键之后的 AI 不是该主键的限定符",
    ),
    "dl_bad_qualifier_order": (
        "The key qualifiers in the path are out of order, repeated or mix alternative sequences.",
        "路径中的主键限定符顺序错误、重复，或混用了不同的组合",
    ),
    "dl_duplicate_ai": (
        "The same AI appears twice in the URI.",
        "同一 AI 在 URI 中出现了两次",
    ),
    "dl_not_dl_attribute": (
        "An AI in the query is not permitted as a Digital Link data attribute.",
        "查询参数中的 AI 不允许作为数字链接的数据属性",
    ),
    "dl_qualifier_in_query": (
        "A key qualifier was given as a query parameter; it belongs in the path.",
        "主键限定符放在了查询参数中，应放在路径中",
    ),
    "dl_too_many_ais": (
        "The URI has more than 64 AIs and query parameters.",
        "URI 中的 AI 与查询参数合计超过 64 个",
    ),
    # --- HIBC (hibc.py) -----------------------------------------------------
    "hibc_empty": (
        "No data.",
        "HIBC 码没有数据",
    ),
    "hibc_hri_input": (
        "Data was given as a caption '*...*'; asterisks removed, '_' read as space.",
        "输入的是人工识读文字 '*...*'：已去掉星号，'_' 按空格处理",
    ),
    "hibc_lower_case": (
        "Lower-case letters are not in the HIBC character set.",
        "HIBC 字符集中没有小写字母",
    ),
    "hibc_bad_char": (
        "Character outside the HIBC set 0-9 A-Z - . space $ / + %.",
        "字符不在 HIBC 字符集（0-9 A-Z - . 空格 $ / + %）内",
    ),
    "hibc_no_flag": (
        "HIBC data must start with the '+' flag character.",
        "HIBC 数据必须以标志字符 '+' 开头",
    ),
    "hibc_bad_start": (
        "The character after '+' must be a letter (primary) or a digit or '$' (secondary).",
        "'+' 之后应为字母（主码）或数字/'$'（副码）",
    ),
    "hibc_lic_first_digit": (
        "The LIC must start with a letter; a digit after '+' starts a secondary 5-digit date.",
        "厂商标识码 (LIC) 必须以字母开头；'+' 后接数字表示副码的 5 位日期",
    ),
    "hibc_truncated": (
        "Data ends before a required field is complete.",
        "数据不完整：必需字段尚未结束数据就结束了",
    ),
    "hibc_bad_lic": (
        "The LIC (labeler identification code) may hold only digits and upper-case letters.",
        "厂商标识码 (LIC) 只能包含数字和大写字母",
    ),
    "hibc_bad_pcn": (
        "The PCN (product/catalogue number) may hold only digits and upper-case letters.",
        "产品编号 (PCN) 只能包含数字和大写字母",
    ),
    "hibc_pcn_too_long": (
        "The PCN is longer than 18 characters.",
        "产品编号 (PCN) 超过 18 个字符",
    ),
    "hibc_pcn_legacy_length": (
        "The PCN is longer than 13 characters; older HIBC readers accept at most 13.",
        "产品编号 (PCN) 超过 13 个字符，旧式 HIBC 读码设备最多只接受 13 个",
    ),
    "hibc_bad_um": (
        "The unit-of-measure (packaging level) must be a digit 0-9.",
        "计量单位（包装级别）必须是 0-9 的数字",
    ),
    "hibc_bad_check": (
        "The mod-43 check character is wrong.",
        "校验字符错误（模 43 校验）",
    ),
    "hibc_bad_link": (
        "The secondary's link character differs from the primary's check character.",
        "副码的链接字符与主码的校验字符不一致，主副码不配套",
    ),
    "hibc_link_unverified": (
        "The link character can only be checked against the primary symbol.",
        "链接字符只能与主码核对，单独扫描副码无法校验",
    ),
    "hibc_link_no_primary": (
        "Link check: the first result is not an HIBC primary.",
        "主副码核对：第一个码不是 HIBC 主码",
    ),
    "hibc_link_no_secondary": (
        "Link check: the second result is not a separate HIBC secondary symbol.",
        "主副码核对：第二个码不是独立的 HIBC 副码",
    ),
    "hibc_bad_flag": (
        "Unknown secondary-data format flag.",
        "未知的副码数据格式标志",
    ),
    "hibc_bad_date": (
        "A date field holds non-digits.",
        "日期字段含有非数字字符",
    ),
    "hibc_bad_month": (
        "The month of a date does not exist.",
        "日期中的月份无效",
    ),
    "hibc_bad_day": (
        "The day of a date does not exist in that month.",
        "日期无效：该月没有这一天",
    ),
    "hibc_bad_julian": (
        "The day-of-year of a Julian date does not exist in that year.",
        "儒略日期无效：该年没有这一天",
    ),
    "hibc_bad_hour": (
        "The hour of a date is outside 00-23.",
        "日期中的小时超出 00-23",
    ),
    "hibc_month_expiry": (
        "Expiry given as month and year only; taken as the last day of that month.",
        "有效期只有年月，按该月最后一天计",
    ),
    "hibc_bad_quantity": (
        "A quantity field must hold digits only.",
        "数量字段只能是数字",
    ),
    "hibc_quantity_zero": (
        "The quantity is zero.",
        "数量为 0",
    ),
    "hibc_no_date_flag": (
        "No date-format digit after the $$8/$$9 quantity; the rest is read as lot/serial.",
        "$$8/$$9 数量之后没有日期格式位，其余部分按批号/序列号读取",
    ),
    "hibc_field_too_long": (
        "A lot or serial number is longer than 18 characters.",
        "批号或序列号超过 18 个字符",
    ),
    "hibc_field_legacy_length": (
        "A lot or serial number is longer than 13 characters; older readers accept at most 13.",
        "批号或序列号超过 13 个字符，旧式读码设备最多只接受 13 个",
    ),
    "hibc_empty_field": (
        "A data field is empty.",
        "数据字段为空",
    ),
    "hibc_empty_segment": (
        "Two '/' in a row or a '/' with nothing after it.",
        "连续两个 '/'，或 '/' 之后没有内容",
    ),
    "hibc_unknown_segment": (
        "A '/' segment is neither secondary data nor 14D, 16D, S or Q.",
        "'/' 分段既不是副码数据，也不是 14D、16D、S 或 Q",
    ),
    "hibc_conflict": (
        "The same field is given twice with different values.",
        "同一字段出现两次且取值不同",
    ),
    "hibc_deprecated_flag": (
        "Secondary format kept for backward compatibility only; prefer $$ formats and /Q.",
        "该副码格式仅为兼容旧标签保留，建议改用 $$ 格式和 /Q",
    ),
    # --- MA code (ma.py) ----------------------------------------------------
    "ma_truncated": (
        "MA code ends before the enterprise code.",
        "MA 码不完整：缺少企业代码",
    ),
    "ma_bad_iac": (
        "First field is not the issuing agency code MA.",
        "第一段不是发码机构代码 MA",
    ),
    "ma_bad_country": (
        "Country code is not 156 (China).",
        "国家代码不是 156（中国）",
    ),
    "ma_bad_industry": (
        "Industry code is not M0 (medical devices).",
        "行业代码不是 M0（医疗器械）",
    ),
    "ma_bad_enterprise": (
        "Enterprise code is not 6 digits.",
        "企业代码不是 6 位数字",
    ),
    "ma_no_product_segment": (
        "Enterprise main code only: no product segment, not a UDI-DI.",
        "只有企业主码、没有产品段，不是医疗器械唯一标识的产品标识 (UDI-DI)",
    ),
    "ma_bad_pack_level": (
        "Packaging level is not a digit 0-9.",
        "包装级别不是 0-9 的数字",
    ),
    "ma_bad_category_length": (
        "Category code is not 6-10 characters.",
        "品类编码不是 6-10 个字符",
    ),
    "ma_bad_char": (
        "Character not allowed in this MA field.",
        "该 MA 字段中含有不允许的字符",
    ),
    "ma_empty_unit": (
        "Empty PI data unit.",
        "生产标识 (PI) 数据单元为空",
    ),
    "ma_unknown_unit": (
        "Unknown PI data-unit letter.",
        "未知的生产标识 (PI) 数据单元字母",
    ),
    "ma_duplicate_unit": (
        "PI data unit appears twice.",
        "生产标识 (PI) 数据单元重复出现",
    ),
    "ma_bad_date": (
        "PI date is not a real YYMMDD or YYYYMMDD date.",
        "生产标识 (PI) 中的日期不是有效的 YYMMDD 或 YYYYMMDD 日期",
    ),
    "ma_check_not_last": (
        "PI check unit .C is not the last data unit.",
        "生产标识校验单元 .C 不在最后",
    ),
    "ma_bad_check_unit": (
        "PI check unit .C is not one character.",
        "生产标识校验单元 .C 不是 1 个字符",
    ),
    "ma_check_without_pi": (
        "PI check unit .C without any PI data unit.",
        "有校验单元 .C，但没有任何生产标识 (PI) 数据单元",
    ),
    "ma_check_mismatch": (
        "Check character differs from the unofficial MA algorithm.",
        "校验字符与非官方 MA 算法的计算结果不一致",
    ),
    "ma_check_uncomputable": (
        "Check character not computable: character outside the MA code table.",
        "无法计算校验字符：含有 MA 码表以外的字符",
    ),
    "ma_old_rule": (
        "Production date in old-rule unit .P (replaced by .M on 2020-08-20).",
        "生产日期使用了旧规则数据单元 .P（2020-08-20 起改为 .M）",
    ),
    "ma_unconfirmed_unit": (
        "Unconfirmed data unit .Y (medical-insurance code).",
        "数据单元 .Y（医保编码）尚未经官方确认",
    ),
    "ma_no_pi_check": (
        "PI has no .C check unit; PI check not verified.",
        "生产标识 (PI) 没有校验单元 .C，未能校验",
    ),
    # --- AHM code (ahm.py) --------------------------------------------------
    "ahm_no_public_spec": (
        "AHM code recognised and routed; no public specification, not validated.",
        "已识别为阿里健康码 (AHM)；无公开规范，未做校验",
    ),
    "unverified_scheme": (
        "Code scheme recognised but its content could not be verified.",
        "已识别码制，但无法校验其内容",
    ),
    # --- drug traceability code (cn_drug.py) --------------------------------
    "cn_drug_bad_length": (
        "Drug traceability code is not 20 digits long.",
        "药品追溯码不是 20 位",
    ),
    "cn_drug_non_digit": (
        "Drug traceability code has a non-digit character.",
        "药品追溯码含有非数字字符",
    ),
    "cn_drug_bad_prefix": (
        "Drug traceability code does not start with 8.",
        "药品追溯码不是以 8 开头",
    ),
    "check_digits_not_verifiable": (
        "The 4 check digits use a secret algorithm; genuineness needs the 码上放心 platform.",
        "末 4 位校验码采用保密算法，真伪需通过码上放心平台核验",
    ),
    # --- medical-insurance codes (nhsa.py) ----------------------------------
    "nhsa_bad_length": (
        "Medical-insurance code has the wrong length.",
        "医保编码位数不对",
    ),
    "nhsa_lower_case": (
        "Medical-insurance codes use upper-case letters only.",
        "医保编码只能使用大写字母",
    ),
    "nhsa_bad_char": (
        "Character not allowed in a medical-insurance code.",
        "医保编码中含有不允许的字符",
    ),
    "nhsa_bad_class": (
        "Western-medicine (西药) class code, positions 2-6, is not a letter, 2 digits and 2 letters.",
        "西药类别码（第 2-6 位）不是“1 位字母 + 2 位数字 + 2 位字母”",
    ),
    "nhsa_segments_unconfirmed": (
        "Segment widths are from a secondary source, not the official NHSA rule.",
        "各分段位数取自非官方资料，未经国家医保局编码规则确认",
    ),
}

# Readable names for the data-unit keys used as "at".
_AT_ZH = {
    "expiry": "有效期",
    "production_date": "生产日期",
    "lot": "批号",
    "serial": "序列号",
    "quantity": "数量",
    "DI": "产品标识 DI",
    "PI": "生产标识 PI",
}


def _is_lang_zh(lang):
    return bool(lang) and str(lang).lower().startswith("zh")


def where(at, lang="zh"):
    # entry["at"] in words: an AI ("01"), a character position (int: a
    # 0-based index into the data, shown counted from 1 as people count) or
    # a data unit (".M", "expiry").  "" when the entry has no position.
    if at is None or isinstance(at, bool) or at == "":
        return ""
    zh = _is_lang_zh(lang)
    if isinstance(at, int):
        return ("第 %d 个字符" if zh else "character %d") % (at + 1)
    at = str(at)
    if at.isdigit() and at.isascii() and 2 <= len(at) <= 4:
        return "AI " + at
    if len(at) == 2 and at[0] == ".":
        return ("数据单元 " if zh else "data unit ") + at
    if zh and at in _AT_ZH:
        return _AT_ZH[at]
    return at


def describe(entry, lang="zh"):
    """One line for an operator: "en" gives the entry's own English message;
    "zh" gives the Chinese description, where it is, and the English detail,
    e.g. "校验位错误 [AI 01]（AI (01): check digit is 3, expected 2）".
    Unknown codes fall back to the English message."""
    code = entry.get("code")
    message = entry.get("message") or ""
    known = CATALOGUE.get(code)
    if not _is_lang_zh(lang) or known is None:
        if message:
            return message
        return known[EN] if known else str(code)
    out = known[ZH]
    w = where(entry.get("at"), lang)
    if w:
        out += " [" + w + "]"
    if message:
        out += "（" + message + "）"
    return out


def catalogue(lang="zh"):
    """code -> one-line description in lang ("zh" or "en"), for the panel/API."""
    i = ZH if _is_lang_zh(lang) else EN
    return {code: texts[i] for code, texts in CATALOGUE.items()}
