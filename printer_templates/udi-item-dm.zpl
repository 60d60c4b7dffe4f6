^XA
{{setup}}
^FX product name and registration number (Chinese: TrueType font from the toml)
^FO{{mm:2}},{{mm:1.5}}^A@N,{{mm:3.5}},{{mm:3.5}},{{font:cjk}}{{text:product_name}}
^FO{{mm:2}},{{mm:6}}^A@N,{{mm:2.5}},{{mm:2.5}},{{font:cjk}}{{text:registration}}
^FX GS1 DataMatrix at [barcode] x_mm, y_mm
{{barcode}}
^FO{{mm:18}},{{mm:11}}^A@N,{{mm:2.5}},{{mm:2.5}},{{font:cjk}}{{text:lot_line}}
^FO{{mm:18}},{{mm:14.5}}^A@N,{{mm:2.5}},{{mm:2.5}},{{font:cjk}}{{text:expiry_line}}
^FO{{mm:18}},{{mm:18}}^A@N,{{mm:2.5}},{{mm:2.5}},{{font:cjk}}{{text:production_line}}
^FO{{mm:18}},{{mm:21.5}}^A@N,{{mm:2.5}},{{mm:2.5}},{{font:cjk}}{{text:serial_line}}
^FX bracketed HRI, broken before an AI when longer than [hri] line_chars
^FO{{mm:2}},{{mm:28}}^A0N,{{mm:2.4}},{{mm:2}}{{hri:1}}
^FO{{mm:2}},{{mm:31.5}}^A0N,{{mm:2.4}},{{mm:2}}{{hri:2}}
^XZ
