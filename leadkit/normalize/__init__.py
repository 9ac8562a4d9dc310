"""Value parsers: text, company names and places, phones and e-mails, dates and quantities.

Each works on a single value and on a whole column (Arrow / pandas), with the same answer."""

from leadkit.normalize.columns import cell_text, cell_texts, is_in, lookup, map_distinct, positions
from leadkit.normalize.company import (
    chinese_divisions,
    company_display,
    company_key,
    company_key_and_region,
    company_place,
    drop_own_place,
    name_region,
)
from leadkit.normalize.contact import normalize_email, normalize_phone
from leadkit.normalize.dates import (
    as_dates,
    column_dates,
    date_cells_to_write,
    keep_unparsed,
    parse_datetime,
    real_dates,
)
from leadkit.normalize.places import (
    PROVINCES,
    mobile_cities,
    phone_location,
    place_in_name,
    province_of_city,
    short_city,
)
from leadkit.normalize.text import (
    WORKERS,
    as_text,
    clean_text,
    extract,
    map_enum,
    parse_count,
    parse_money,
    parse_quantity,
    to_halfwidth,
)

__all__ = [
    "PROVINCES",
    "WORKERS",
    "as_dates",
    "as_text",
    "cell_text",
    "cell_texts",
    "chinese_divisions",
    "clean_text",
    "column_dates",
    "company_display",
    "company_key",
    "company_key_and_region",
    "company_place",
    "date_cells_to_write",
    "drop_own_place",
    "extract",
    "is_in",
    "keep_unparsed",
    "lookup",
    "map_distinct",
    "map_enum",
    "mobile_cities",
    "name_region",
    "normalize_email",
    "normalize_phone",
    "parse_count",
    "parse_datetime",
    "parse_money",
    "parse_quantity",
    "phone_location",
    "place_in_name",
    "positions",
    "province_of_city",
    "real_dates",
    "short_city",
    "to_halfwidth",
]
