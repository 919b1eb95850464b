"""What a shop says about itself: OPTIONS /wp-json/wc/v3/products (the route's description and the
product's JSON schema) and GET /wp-json/wc/v3/system_status (the environment: WooCommerce and
WordPress versions).

Clients read these to learn what the shop has, e.g. whether products have a GTIN field
(`global_unique_id` came in WooCommerce 9.2): the schema answers that directly, whatever the
version string says. Facts mirrored from the captured 7.8.2 and 9.9.5 shops
(shared/specs/woocommerce):
- OPTIONS is answered by WordPress itself (rest_handle_options_request) with the route's
  namespace, methods, endpoints (their args) and `schema`; it checks no permission, so no key is
  needed. The schema's top-level properties are the captured ones, each as captured (type,
  description, context, readonly, enum, default, format); the sandbox leaves out the nested
  `properties`/`items` of arrays and objects. The POST args are the schema's writable properties
  (a "date-time" one a nullable string, as in the captures); of the GET (list) args only
  `context` is described here.
- 9.9.5 has three product properties 7.8.2 lacks: `global_unique_id` and `post_password` (9.2, as
  products.py serves them) and `brands` (Brands moved into core in 9.6).
- system_status needs manage_woocommerce (wc_rest_check_manager_permissions): any key of the
  administrator, read scope is enough (it is a GET); anonymous is 401, a key of a user without
  manage_woocommerce 403. The real shop computes only the sections `_fields` names
  (get_item_mappings_per_fields); the sandbox serves the sections with fixed, plausible values. 9.9.5 adds `logging`, and `server_architecture` and `store_id` to
  the environment (between the captures: guessed at 9.0).
"""

from __future__ import annotations

from flask import Blueprint, g

from .api import get_state, require, respond
from .auth_session import ADMIN_ID
from .state import WooState
from .wpjson import ApiError

bp = Blueprint("woo_discovery", __name__, url_prefix="/wp-json/wc/v3")

# (name, JSON type, readonly, description, the release that brought it) of the product schema.
PRODUCT_PROPERTIES = (
    ('attributes', 'array', False, 'List of attributes.', None),
    ('average_rating', 'string', True, 'Reviews average rating.', None),
    ('backordered', 'boolean', True, 'Shows if the product is on backordered.', None),
    ('backorders', 'string', False, 'If managing stock, this controls if backorders are allowed.', None),
    ('backorders_allowed', 'boolean', True, 'Shows if backorders are allowed.', None),
    ('brands', 'array', False, 'List of brands.', '9.6'),
    ('button_text', 'string', False, 'Product external button text. Only for external products.', None),
    ('catalog_visibility', 'string', False, 'Catalog visibility.', None),
    ('categories', 'array', False, 'List of categories.', None),
    ('cross_sell_ids', 'array', False, 'List of cross-sell products IDs.', None),
    ('date_created', 'date-time', False, "The date the product was created, in the site's timezone.", None),
    ('date_created_gmt', 'date-time', False, 'The date the product was created, as GMT.', None),
    ('date_modified', 'date-time', True, "The date the product was last modified, in the site's timezone.", None),
    ('date_modified_gmt', 'date-time', True, 'The date the product was last modified, as GMT.', None),
    ('date_on_sale_from', 'date-time', False, "Start date of sale price, in the site's timezone.", None),
    ('date_on_sale_from_gmt', 'date-time', False, 'Start date of sale price, as GMT.', None),
    ('date_on_sale_to', 'date-time', False, "End date of sale price, in the site's timezone.", None),
    ('date_on_sale_to_gmt', 'date-time', False, "End date of sale price, in the site's timezone.", None),
    ('default_attributes', 'array', False, 'Defaults variation attributes.', None),
    ('description', 'string', False, 'Product description.', None),
    ('dimensions', 'object', False, 'Product dimensions.', None),
    ('download_expiry', 'integer', False, 'Number of days until access to downloadable files expires.', None),
    ('download_limit', 'integer', False, 'Number of times downloadable files can be downloaded after purchase.', None),
    ('downloadable', 'boolean', False, 'If the product is downloadable.', None),
    ('downloads', 'array', False, 'List of downloadable files.', None),
    ('external_url', 'string', False, 'Product external URL. Only for external products.', None),
    ('featured', 'boolean', False, 'Featured product.', None),
    ('generated_slug', 'string', True, 'Slug automatically generated from the product name.', None),
    ('global_unique_id', 'string', False, 'GTIN, UPC, EAN or ISBN.', '9.2'),
    ('grouped_products', 'array', True, 'List of grouped products ID.', None),
    ('has_options', 'boolean', True, 'Shows if the product needs to be configured before it can be bought.', None),
    ('id', 'integer', True, 'Unique identifier for the resource.', None),
    ('images', 'array', False, 'List of images.', None),
    ('low_stock_amount', ['integer', 'null'], False, 'Low Stock amount for the product.', None),
    ('manage_stock', 'boolean', False, 'Stock management at product level.', None),
    ('menu_order', 'integer', False, 'Menu order, used to custom sort products.', None),
    ('meta_data', 'array', False, 'Meta data.', None),
    ('name', 'string', False, 'Product name.', None),
    ('on_sale', 'boolean', True, 'Shows if the product is on sale.', None),
    ('parent_id', 'integer', False, 'Product parent ID.', None),
    ('permalink', 'string', True, 'Product URL.', None),
    ('permalink_template', 'string', True, 'Permalink template for the product.', None),
    ('post_password', 'string', False, 'Post password.', '9.2'),
    ('price', 'string', True, 'Current product price.', None),
    ('price_html', 'string', True, 'Price formatted in HTML.', None),
    ('purchasable', 'boolean', True, 'Shows if the product can be bought.', None),
    ('purchase_note', 'string', False, 'Optional note to send the customer after purchase.', None),
    ('rating_count', 'integer', True, 'Amount of reviews that the product have.', None),
    ('regular_price', 'string', False, 'Product regular price.', None),
    ('related_ids', 'array', True, 'List of related products IDs.', None),
    ('reviews_allowed', 'boolean', False, 'Allow reviews.', None),
    ('sale_price', 'string', False, 'Product sale price.', None),
    ('shipping_class', 'string', False, 'Shipping class slug.', None),
    ('shipping_class_id', 'string', True, 'Shipping class ID.', None),
    ('shipping_required', 'boolean', True, 'Shows if the product need to be shipped.', None),
    ('shipping_taxable', 'boolean', True, 'Shows whether or not the product shipping is taxable.', None),
    ('short_description', 'string', False, 'Product short description.', None),
    ('sku', 'string', False, 'Stock Keeping Unit.', None),         # before 9.0: _OLD_SKU_DESCRIPTION
    ('slug', 'string', False, 'Product slug.', None),
    ('sold_individually', 'boolean', False, 'Allow one item to be bought in a single order.', None),
    ('status', 'string', False, 'Product status (post status).', None),
    ('stock_quantity', 'integer', False, 'Stock quantity.', None),
    ('stock_status', 'string', False, 'Controls the stock status of the product.', None),
    ('tags', 'array', False, 'List of tags.', None),
    ('tax_class', 'string', False, 'Tax class.', None),
    ('tax_status', 'string', False, 'Tax status.', None),
    ('total_sales', 'integer', True, 'Amount of sales.', None),
    ('type', 'string', False, 'Product type.', None),
    ('upsell_ids', 'array', False, 'List of up-sell products IDs.', None),
    ('variations', 'array', True, 'List of variations IDs.', None),
    ('virtual', 'boolean', False, 'If the product is virtual.', None),
    ('weight', 'string', False, 'Product weight (lbs).', None),     # the unit: _weight_unit
)

# What a property declares besides its type and description (as the captures have them).
_EXTRAS = {
    "backorders": {"default": "no", "enum": ["no", "notify", "yes"]},
    "catalog_visibility": {"default": "visible", "enum": ["visible", "catalog", "search", "hidden"]},
    "download_expiry": {"default": -1},
    "download_limit": {"default": -1},
    "downloadable": {"default": False},
    "external_url": {"format": "uri"},
    "featured": {"default": False},
    "manage_stock": {"default": False},
    "permalink": {"format": "uri"},
    "reviews_allowed": {"default": True},
    "sold_individually": {"default": False},
    "status": {"default": "publish",
               "enum": ["draft", "pending", "private", "publish", "future", "auto-draft", "trash"]},
    "stock_status": {"default": "instock", "enum": ["instock", "outofstock", "onbackorder"]},
    "tax_status": {"default": "taxable", "enum": ["taxable", "shipping", "none"]},
    "type": {"default": "simple", "enum": ["simple", "grouped", "external", "variable"]},
    "virtual": {"default": False},
}
_EDIT_CONTEXT_ONLY = {"generated_slug", "permalink_template"}
# 7.8.2 describes `sku` as "Unique identifier."; 9.9.5 as "Stock Keeping Unit." (changed between
# the captures: guessed at 9.0).
_OLD_SKU_DESCRIPTION = "Unique identifier."

_CONTEXT_ARG = {"default": "view", "description": "Scope under which the request is made; determines fields present "
                "in response.", "enum": ["view", "edit"], "required": False, "type": "string"}


def _weight_unit(state: WooState) -> str:
    """The store's weight unit (a setting, not a release difference): the captured 7.8.2 shop
    used kg, the 9.9.5 one lbs, so each profile says what its capture says."""
    return "lbs" if state.wc_at_least("9.0") else "kg"


def product_schema(state: WooState) -> dict:
    """The product schema this release describes (top-level properties)."""
    properties = {}
    for name, kind, readonly, description, since in PRODUCT_PROPERTIES:
        if since and not state.wc_at_least(since):
            continue
        if name == "sku" and not state.wc_at_least("9.0"):
            description = _OLD_SKU_DESCRIPTION
        elif name == "weight":
            description = f"Product weight ({_weight_unit(state)})."
        prop = {"context": ["edit"] if name in _EDIT_CONTEXT_ONLY else ["view", "edit"],
                "description": description, "type": kind, **_EXTRAS.get(name, {})}
        if readonly:
            prop["readonly"] = True
        properties[name] = prop
    return {"$schema": "http://json-schema.org/draft-04/schema#", "title": "product", "type": "object",
            "properties": properties}


def _post_arg(prop: dict) -> dict:
    """A writable property as the POST endpoint's argument: WordPress turns a "date-time"
    property into a nullable string argument; the context and readonly flags stay behind."""
    arg = {k: v for k, v in prop.items() if k not in ("context", "readonly")}
    if arg["type"] == "date-time":
        arg["type"] = ["null", "string"]
    return {**arg, "required": False}


@bp.route("/products", methods=["OPTIONS"])
def describe_products():
    state = get_state()
    schema = product_schema(state)
    post_args = {name: _post_arg(prop) for name, prop in schema["properties"].items() if not prop.get("readonly")}
    return respond({
        "namespace": "wc/v3",
        "methods": ["GET", "POST"],
        "endpoints": [{"methods": ["GET"], "args": {"context": _CONTEXT_ARG}},
                      {"methods": ["POST"], "args": post_args}],
        "schema": schema,
        "_links": {"self": [{"href": f"{state.site_url}/wp-json/wc/v3/products"}]},
    })


def environment(state: WooState) -> dict:
    site = state.site_url
    env = {
        "home_url": site, "site_url": site, "version": state.wc_version,
        "log_directory": "/var/www/html/wp-content/uploads/wc-logs/", "log_directory_writable": True,
        "wp_version": state.wp_version, "wp_multisite": False, "wp_memory_limit": 268435456,
        "wp_debug_mode": False, "wp_cron": True, "language": "en_US", "external_object_cache": None,
        "server_info": "Apache/2.4", "php_version": "8.2.0", "php_post_max_size": 8388608,
        "php_max_execution_time": 30, "php_max_input_vars": 1000, "curl_version": "7.88.1, OpenSSL/3.0.11",
        "suhosin_installed": False, "max_upload_size": 2097152, "mysql_version": "10.11.6",
        "mysql_version_string": "10.11.6-MariaDB", "default_timezone": "UTC",
        "fsockopen_or_curl_enabled": True, "soapclient_enabled": False, "domdocument_enabled": True,
        "gzip_enabled": True, "mbstring_enabled": True, "remote_post_successful": True,
        "remote_post_response": "200", "remote_get_successful": True, "remote_get_response": "200",
    }
    del env["external_object_cache"]      # not in the captured schemas
    if state.wc_at_least("9.0"):
        env.update(server_architecture="Linux 6.1.0 x86_64", store_id="")
    return env


def _require_manager() -> None:
    """wc_rest_check_manager_permissions('system_status', 'read'): manage_woocommerce, else
    "Sorry, you cannot list resources." (401 anonymous, 403 for a key whose user lacks it). The
    sandbox's one manager is the administrator (ADMIN_ID); a key made for another user id is one
    whose user was given order capabilities but not manage_woocommerce."""
    require("list")
    if g.woo_key.user_id != ADMIN_ID:
        raise ApiError(403, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")


@bp.get("/system_status")
def system_status():
    _require_manager()
    state = get_state()
    data = {
        "environment": environment(state),
        "database": {"wc_database_version": state.wc_version, "database_prefix": "wp_",
                     "maxmind_geoip_database": "", "database_tables": {"woocommerce": {}, "other": {}}},
        "active_plugins": [], "inactive_plugins": [], "dropins_mu_plugins": {"dropins": [], "mu_plugins": []},
        "theme": {"name": "Twenty Twenty-Three"}, "settings": {"currency": "EUR"},
        "security": {"secure_connection": state.site_url.startswith("https://"), "hide_errors": True},
        "pages": [], "post_type_counts": [],
    }
    if state.wc_at_least("9.0"):
        data["logging"] = {}
    return respond(data)
