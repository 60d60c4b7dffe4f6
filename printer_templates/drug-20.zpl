^XA
{{setup}}
^FO{{mm:6}},{{mm:2}}^A@N,{{mm:3}},{{mm:3}},{{font:cjk}}{{text:product_name}}
{{barcode}}
^FO{{mm:3}},{{mm:21.5}}^FB{{mm:54}},1,0,C,0^A0N,{{mm:3}},{{mm:2.4}}{{hri}}
^XZ
