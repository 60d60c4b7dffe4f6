^XA
{{setup}}
^FO{{mm:3}},{{mm:1.5}}^A@N,{{mm:3.5}},{{mm:3.5}},{{font:cjk}}{{text:product_name}}
^FO{{mm:3}},{{mm:6}}^A@N,{{mm:2.5}},{{mm:2.5}},{{font:cjk}}{{text:registration}}
^FX GS1-128: subsets and FNC1 (>8) written by the template engine
{{barcode}}
^FO{{mm:3}},{{mm:27}}^FB{{mm:94}},1,0,C,0^A0N,{{mm:2.6}},{{mm:2.2}}{{hri:1}}
^FO{{mm:3}},{{mm:30.5}}^FB{{mm:94}},1,0,C,0^A0N,{{mm:2.6}},{{mm:2.2}}{{hri:2}}
^FO{{mm:3}},{{mm:35}}^A@N,{{mm:2.5}},{{mm:2.5}},{{font:cjk}}{{text:lot_line}}
^FO{{mm:50}},{{mm:35}}^A@N,{{mm:2.5}},{{mm:2.5}},{{font:cjk}}{{text:serial_line}}
^FO{{mm:3}},{{mm:39.5}}^A@N,{{mm:2.5}},{{mm:2.5}},{{font:cjk}}{{text:dates}}
^FO{{mm:50}},{{mm:39.5}}^A@N,{{mm:2.5}},{{mm:2.5}},{{font:cjk}}{{text:production}}
^XZ
