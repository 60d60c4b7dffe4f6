^XA
{{setup}}
{{barcode}}
^FO{{mm:22}},{{mm:2}}^A@N,{{mm:3}},{{mm:3}},{{font:cjk}}{{text:product_name}}
^FO{{mm:22}},{{mm:7}}^A0N,{{mm:2.4}},{{mm:1.9}}{{hri:1}}
^FO{{mm:22}},{{mm:10.5}}^A0N,{{mm:2.4}},{{mm:1.9}}{{hri:2}}
^FO{{mm:22}},{{mm:14}}^A0N,{{mm:2.4}},{{mm:1.9}}{{hri:3}}
^XZ
