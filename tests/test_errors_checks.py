"""errors.php and errors.server judged on hand-written pages.

Each page is built from bytes with ``crawler.parse.page_from_body``, as the
crawler builds a fetched page, so the checks see the same folded visible text
(``Warning</b>:`` becomes ``Warning :``) they see in a scan.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from shophealth.checks import errors
from shophealth.checks.base import Check, Finding
from shophealth.checks.errors import CHECKS, PHP_CHECK, SERVER_CHECK
from shophealth.checks.registry import run_check
from shophealth.crawler.evidence import Page, SiteEvidence
from shophealth.crawler.parse import page_from_body

SHOP = "https://shop.example/"
ELEMENTOR_FATAL = (
    "Fatal error: Uncaught Error: Class 'Elementor\\Scheme_Color' not found in "
    "/home/customer/www/fifthavenuewig.com/public_html/wp-content/themes/boudoir/elementor/"
    "widgets/products.php:272\nStack trace:\n#0 /home/customer/www/fifthavenuewig.com/"
    "public_html/wp-content/plugins/elementor/includes/base/controls-stack.php(1965): "
    "Elementor\\Widget_Products->_register_controls()\n#1 {main}\n  thrown in "
    "/home/customer/www/fifthavenuewig.com/public_html/wp-content/themes/boudoir/elementor/"
    "widgets/products.php on line 272"
)
PRICE_WARNING = (
    'Warning: Undefined array key "price" in /var/www/html/wp-content/themes/shop/'
    "woocommerce/single-product/price.php on line 123"
)
PRICE_WARNING_HTML = (
    '<br />\n<b>Warning</b>:  Undefined array key "price" in <b>/var/www/html/wp-content/'
    "themes/shop/woocommerce/single-product/price.php</b> on line <b>123</b><br />\n"
)
FILLER = " ".join(
    f"<p>Linen cushion cover {n}, stone-washed, 45 x 45 cm, HK$189. Free delivery over HK$500.</p>"
    for n in range(40)
)
ASPNET_YELLOW_SCREEN = """<html><head><title>Object reference not set to an instance of an
object.</title></head><body bgcolor="white">
<span><H1>Server Error in '/' Application.<hr width=100% size=1 color=silver></H1>
<h2> <i>Object reference not set to an instance of an object.</i> </h2></span>
<b> Description: </b>An unhandled exception occurred during the execution of the current web
request.<br><br><b> Exception Details: </b>System.NullReferenceException: Object reference not
set to an instance of an object.<br><br><b>Stack Trace:</b> <br><br>
<pre>[NullReferenceException: Object reference not set to an instance of an object.]
   Shop.Web.ProductPage.Page_Load(Object sender, EventArgs e) in C:\\inetpub\\shop\\Product.aspx.cs:41
</pre><b>Version Information:</b>&nbsp;Microsoft .NET Framework Version:4.0.30319; ASP.NET
Version:4.8.4465.0</body></html>"""


def shop_page(inner: str, title: str = "Linen cushion cover | Harbour Home Goods") -> str:
    """A product page of a small shop with ``inner`` in its main column."""
    return (
        f"<!DOCTYPE html><html lang=en><head><title>{title}</title></head><body>"
        "<header><nav><a href=/>Home</a> <a href=/collections/bedding>Bedding</a></nav></header>"
        f"<main><h1>Linen cushion cover</h1>{inner}{FILLER}</main>"
        "<footer><a href=/pages/contact>Contact</a></footer></body></html>"
    )


def page_of(html: str, url: str = SHOP + "products/cushion") -> Page:
    return page_from_body(url, html.encode("utf-8"), "text/html; charset=utf-8")


def check(check_id: str) -> Check:
    return next(c for c in CHECKS if c.id == check_id)


def findings(check_id: str, *pages: Page, **options: object) -> list[Finding]:
    evidence = SiteEvidence(site=SHOP, home=SHOP, pages=pages)
    outcome = run_check(check(check_id), evidence, options)
    assert outcome.status != "error", outcome.detail
    return list(outcome.findings)


def only_finding(check_id: str, html: str) -> Finding:
    found = findings(check_id, page_of(html))
    assert len(found) == 1, found
    return found[0]


PHP_CASES = {
    "elementor uncaught": (shop_page(ELEMENTOR_FATAL), "uncaught-exception", "error"),
    "undefined array key": (shop_page(PRICE_WARNING), "warning", "warning"),
    "html_errors warning": (shop_page(PRICE_WARNING_HTML), "warning", "warning"),
    "parse error, bare": (
        # a page that fails to parse is sent as the bare message
        '<br />\n<b>Parse error</b>:  syntax error, unexpected token "}" in '
        "<b>/var/www/shop/index.php</b> on line <b>7</b><br />\n",
        "parse",
        "error",
    ),
    "memory": (
        shop_page(
            "Fatal error: Allowed memory size of 134217728 bytes exhausted (tried to allocate "
            "20480 bytes) in /var/www/html/wp-includes/class-wpdb.php on line 2349"
        ),
        "memory",
        "error",
    ),
    "timeout": (
        shop_page(
            "Fatal error: Maximum execution time of 30 seconds exceeded in "
            "/var/www/html/wp-includes/http.php on line 84"
        ),
        "timeout",
        "error",
    ),
    "deprecated, PHP prefix": (
        shop_page(
            "PHP Deprecated:  Function create_function() is deprecated in "
            "/srv/shop/plugins/slider.php on line 12"
        ),
        "deprecated",
        "warning",
    ),
    "notice, windows path": (
        shop_page(
            "<b>Notice</b>:  Undefined variable: cart in "
            "<b>C:\\xampp\\htdocs\\shop\\cart.php</b> on line <b>58</b><br />"
        ),
        "notice",
        "warning",
    ),
    "pdo connection": (
        shop_page("SQLSTATE[HY000] [2002] Connection refused"),
        "database",
        "error",
    ),
    "mysqli connect warning": (
        shop_page(
            "Warning: mysqli_connect(): (HY000/1045): Access denied for user 'shop'@'localhost' "
            "(using password: YES) in /var/www/html/db.php on line 3"
        ),
        "database",
        "error",
    ),
    "xdebug table": (
        shop_page(
            "<table class='xdebug-error xe-warning'><tr><th colspan='5'><span>( ! )</span> "
            "Warning: Undefined variable $price in /var/www/shop/product.php on line <i>31</i>"
            "</th></tr><tr><th colspan='5'>Call Stack</th></tr></table>"
        ),
        "warning",
        "warning",
    ),
    "wordpress database page": (
        "<!DOCTYPE html><html dir='ltr'><head><title>Database Error</title></head>"
        "<body id='error-page'><div class='wp-die-message'>"
        "<h1>Error establishing a database connection</h1></div></body></html>",
        "database",
        "error",
    ),
    "wordpress critical page": (
        "<!DOCTYPE html><html><head><title>WordPress &rsaquo; Error</title></head>"
        "<body id='error-page'><div class='wp-die-message'><p>There has been a critical error "
        "on this website.</p></div></body></html>",
        "wordpress-critical",
        "error",
    ),
    "wordpress critical after half a page": (
        shop_page(
            "<p>There has been a critical error on this website.</p><p><a "
            "href='https://wordpress.org/documentation/article/faq-troubleshooting/'>Learn more "
            "about troubleshooting WordPress.</a></p>"
        ),
        "wordpress-critical",
        "error",
    ),
}


@pytest.mark.parametrize("name", PHP_CASES)
def test_php_errors_are_found_with_kind_and_severity(name: str) -> None:
    html, kind, severity = PHP_CASES[name]
    finding = only_finding(PHP_CHECK, html)
    assert finding.evidence["kind"] == kind
    assert finding.evidence["where"] == "text"
    assert finding.severity == severity
    assert finding.target is None
    assert finding.evidence["count"] >= 1
    assert finding.evidence["snippet"]
    assert "\n" not in finding.message
    assert findings(SERVER_CHECK, page_of(html)) == []


def test_uncaught_exception_names_the_file_line_and_class() -> None:
    finding = only_finding(PHP_CHECK, shop_page(ELEMENTOR_FATAL))
    assert finding.evidence["file"].endswith("elementor/widgets/products.php")
    assert finding.evidence["line"] == 272
    assert finding.evidence["where"] == "text"
    assert "Class 'Elementor\\Scheme_Color' not found" in finding.message
    assert finding.page == SHOP + "products/cushion"


def test_many_messages_on_a_page_are_one_finding_led_by_the_worst() -> None:
    notices = "".join(
        f"Notice: Undefined index: size_{n} in /var/www/shop/variants.php on line {10 + n}\n"
        for n in range(3)
    )
    finding = only_finding(PHP_CHECK, shop_page(f"<pre>{notices}{ELEMENTOR_FATAL}</pre>"))
    assert finding.evidence["count"] == 4
    assert finding.severity == "error"
    assert finding.evidence["kind"] == "uncaught-exception"
    assert finding.evidence["kinds"] == ["notice", "uncaught-exception"]
    assert finding.message.endswith("(+3 more)")


def test_one_finding_per_page() -> None:
    pages = [page_of(shop_page(PRICE_WARNING), f"{SHOP}products/{n}") for n in range(3)]
    found = findings(PHP_CHECK, *pages)
    assert [f.page for f in found] == [p.final_url for p in pages]


def test_a_message_hidden_in_an_attribute_is_found_in_the_markup() -> None:
    hidden = f'<input type="hidden" name="price" value="{PRICE_WARNING_HTML}">'
    html = shop_page(hidden)
    assert "Undefined array key" not in page_of(html).facts.text  # type: ignore[union-attr]
    finding = only_finding(PHP_CHECK, html)
    assert finding.evidence["where"] == "markup"
    assert finding.evidence["line"] == 123
    assert "in its HTML" in finding.message
    assert findings(PHP_CHECK, page_of(html), scan_markup=False) == []


def test_a_clean_page_is_not_searched_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The passes every page gets once (checks.dom) show no hint in any case: neither the
    page's text nor its HTML is decompressed and searched again by the errors checks."""
    page = page_of(shop_page("<p>Stack of trays, on sale</p>"))

    def searched(*args: object) -> list[object]:
        raise AssertionError("searched again")

    monkeypatch.setattr(errors.DetectorSet, "needed", searched)
    assert findings(PHP_CHECK, page) == []
    assert findings(SERVER_CHECK, page) == []


def test_a_hint_in_another_case_still_gets_the_exact_search() -> None:
    html = shop_page(f'<input type="hidden" value="{PRICE_WARNING_HTML}"><p>STACK TRACE: none ON LINE</p>')
    assert only_finding(PHP_CHECK, html).evidence["where"] == "markup"


SERVER_CASES = {
    "liquid": (
        shop_page(
            "Liquid error (sections/header.liquid line 52): Could not find asset snippets/icon-cart.liquid"
        ),
        "liquid",
    ),
    "liquid syntax": (shop_page("Liquid syntax error: Unknown tag 'schema'"), "liquid-syntax"),
    "python": (
        shop_page(
            '<pre>Traceback (most recent call last):\n  File "/srv/shop/app.py", line 88, in '
            "product\n    price = item[\"price\"]\nKeyError: 'price'</pre>"
        ),
        "python-traceback",
    ),
    "django": (
        "<html><head><title>KeyError at /products/cushion</title></head><body>"
        "<h1>KeyError at /products/cushion</h1><table><tr><th>Exception Type:</th><td>KeyError"
        "</td></tr><tr><th>Exception Value:</th><td>'price'</td></tr></table></body></html>",
        "django-debug",
    ),
    "java": (
        shop_page(
            "<pre>java.lang.NullPointerException: price\n"
            "\tat com.shop.web.ProductController.show(ProductController.java:57)\n"
            "\tat org.apache.catalina.core.ApplicationFilterChain.internalDoFilter"
            "(ApplicationFilterChain.java:231)</pre>"
        ),
        "java-exception",
    ),
    "asp.net yellow screen": (ASPNET_YELLOW_SCREEN, "aspnet-error"),
    "tomcat report": (
        "<html><head><title>HTTP Status 500 – Internal Server Error</title></head><body>"
        "<h1>HTTP Status 500 – Internal Server Error</h1><p><b>Type</b> Exception Report</p>"
        "<p><b>Exception</b></p><pre>java.lang.NullPointerException\n"
        "\tcom.shop.ProductServlet.doGet(ProductServlet.java:44)\n"
        "\tjavax.servlet.http.HttpServlet.service(HttpServlet.java:655)</pre></body></html>",
        "tomcat-error",
    ),
    "spring whitelabel": (
        "<html><body><h1>Whitelabel Error Page</h1><p>This application has no explicit "
        "mapping for /error, so you are seeing this as a fallback.</p><div>There was an "
        "unexpected error (type=Internal Server Error, status=500).</div></body></html>",
        "spring-whitelabel",
    ),
    "c#": (
        shop_page(
            "<pre>System.NullReferenceException: Object reference not set\n"
            "   at Shop.Cart.Total() in C:\\src\\Shop\\Cart.cs:line 41\n"
            "   at Shop.CartController.Index() in C:\\src\\Shop\\CartController.cs:line 18</pre>"
        ),
        "dotnet-exception",
    ),
    "node": (
        shop_page(
            "<pre>TypeError: Cannot read properties of undefined (reading 'price')\n"
            "    at renderProduct (/app/src/views/product.js:42:17)\n"
            "    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/"
            "layer.js:95:5)</pre>"
        ),
        "node-exception",
    ),
    "ruby": (
        shop_page(
            "<pre>NoMethodError (undefined method `price' for nil):\n"
            "app/views/products/show.html.erb:12:in `_app_views_products_show'\n"
            "app/controllers/products_controller.rb:9:in `show'</pre>"
        ),
        "ruby-exception",
    ),
    "go": (
        shop_page(
            "<pre>panic: runtime error: index out of range [3] with length 3\n\n"
            "goroutine 7 [running]:\nmain.productHandler(0x1, 0x2)\n"
            "\t/srv/shop/main.go:41 +0x1d</pre>"
        ),
        "go-panic",
    ),
    "magento": (
        "<html><head><title>There has been an error processing your request</title></head>"
        "<body><h1>There has been an error processing your request</h1><p>Exception printing "
        "is disabled by default for security reasons.</p><p>Error log record number: "
        "1a2b3c</p></body></html>",
        "magento-error",
    ),
    "laravel": (
        "<html><head><title>Whoops, looks like something went wrong.</title></head><body>"
        "<h1>Whoops, looks like something went wrong.</h1></body></html>",
        "laravel-error",
    ),
}


@pytest.mark.parametrize("name", SERVER_CASES)
def test_server_errors_are_found_with_their_kind(name: str) -> None:
    html, kind = SERVER_CASES[name]
    finding = only_finding(SERVER_CHECK, html)
    assert finding.evidence["kind"] == kind
    assert finding.severity == "error"
    assert finding.evidence["snippet"]
    assert "\n" not in finding.message
    assert findings(PHP_CHECK, page_of(html)) == []


@pytest.mark.parametrize(
    "block",
    [
        "<p>Liquid error (product-template line 42): comparison of String with 0 failed</p>",
        "<div class=price><span>Liquid error (product-template line 42): comparison of String with 0 failed"
        "</span></div>",
        "<ul><li>Liquid error (product-template line 42): comparison of String with 0 failed</li></ul>",
    ],
)
def test_server_error_snippet_and_message_stop_at_the_block_holding_the_error(block: str) -> None:
    html = (
        "<!DOCTYPE html><html><head><title>Knife Set</title></head><body><main><h1>Knife Set</h1>"
        f"<p>Made to last.</p>{block}</main><footer><a href=/privacy>Privacy policy"
        "</a> <a href=/shipping>Delivery &amp; returns</a></footer></body></html>"
    )
    finding = only_finding(SERVER_CHECK, html)
    error = "Liquid error (product-template line 42): comparison of String with 0 failed"
    assert finding.evidence["snippet"] == error
    assert finding.message.endswith(error)


def test_liquid_errors_are_counted() -> None:
    html = shop_page(
        "<p>Liquid error (line 3): standard error</p><p>Liquid syntax error (line 7): syntax "
        "error</p><p>Liquid error (line 9): argument error</p>"
    )
    finding = only_finding(SERVER_CHECK, html)
    assert finding.evidence["count"] == 3
    assert finding.evidence["kinds"] == ["liquid", "liquid-syntax"]


TALK_ABOUT_ERRORS = {
    "fatal error tee": shop_page(
        "<p>Fatal Error Graphic Tee, 100% cotton, HK$199.</p><p>Warning: may shrink in a hot "
        "wash. Fatal error? Never: our tees are pre-shrunk.</p>"
    ),
    "warning signs shop": shop_page(
        "<p>Warning: Wet Floor sign, yellow, A-frame.</p><p>Notice: Staff Only door sign.</p>"
        "<p>Deprecated: none of our signs, all in stock in /hk/warehouse.</p>"
    ),
    "blog quoting page not found": shop_page(
        "<article><p>Ever clicked a link and got “Page not found”? Here is how we keep our "
        "links working, and why 404 pages matter.</p></article>"
    ),
    "faq on database connection": shop_page(
        "<h2>FAQ</h2><p>Why did I see “Error establishing a database connection”? During "
        "maintenance on Sunday our database connection was paused; please try again.</p>"
    ),
    "blog quoting wordpress": shop_page(
        "<p>Our old site once said “There has been a critical error on this website.” "
        "We moved to a new platform.</p>"
    ),
    "blog quoting magento": shop_page(
        "<p>Customers told us they saw “There has been an error processing your request” "
        "on our old Magento shop.</p>"
    ),
    "python mention": shop_page("<p>Traceback (most recent call last) is how Python starts.</p>"),
    "liquid eyeliner": shop_page("<p>Liquid Error-Proof Eyeliner, waterproof, HK$129.</p>"),
    "stack trace word": shop_page("<p>Stack trace: a puzzle toy, ages 3+, HK$89.</p>"),
    "whoops": shop_page("<p>Whoops, looks like something went wrong. Your basket is empty.</p>"),
}


@pytest.mark.parametrize("name", TALK_ABOUT_ERRORS)
def test_pages_that_talk_about_errors_are_not_findings(name: str) -> None:
    page = page_of(TALK_ABOUT_ERRORS[name])
    assert findings(PHP_CHECK, page) == []
    assert findings(SERVER_CHECK, page) == []


def test_pages_that_were_not_parsed_are_skipped() -> None:
    image = Page(url=SHOP + "a.png", final_url=SHOP + "a.png", status=200, depth=1)
    assert findings(PHP_CHECK, image) == []
    assert findings(SERVER_CHECK, image) == []


def test_checks_need_pages_and_are_skipped_without_them() -> None:
    evidence = SiteEvidence(site=SHOP, home=SHOP, missing={"pages": "crawl failed"})
    for c in CHECKS:
        assert c.requires == ("pages",)
        assert run_check(c, evidence, {}).status == "skipped"


def test_entry_point_names_both_checks() -> None:
    (errors_ep,) = [ep for ep in entry_points(group="shophealth.checks") if ep.name == "errors"]
    assert [c.id for c in errors_ep.load()] == [PHP_CHECK, SERVER_CHECK]
