"""The product master: the NMPA UDID download (XML), product sheets (CSV /
XLSX) and the three-code mapping table (三码映射) imported into the
`products` and `mappings` tables, looked up for a parsed scan, and the
data-quality checks of a scan against it.  See docs/product-master.md."""

from gateway.master.mapping import import_mappings, lookup_mapping
from gateway.master.quality import quality_issues
from gateway.master.sheet import import_products
from gateway.master.udid import ImportReport, import_udid, lookup_product

__all__ = [
    "ImportReport",
    "import_mappings",
    "import_products",
    "import_udid",
    "lookup_mapping",
    "lookup_product",
    "quality_issues",
]
