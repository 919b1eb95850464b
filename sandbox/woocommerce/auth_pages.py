"""The HTML of app authorization, shaped after WooCommerce's templates/auth/*.php, WordPress'
wp-login.php and _default_wp_die_handler(): the same texts, form field names, ids and classes,
so a script that drives these pages also drives a real shop. Plain HTML, no JavaScript."""

from __future__ import annotations

from html import escape


def _auth_page(body: str) -> str:
    """templates/auth/header.php + footer.php."""
    return ("<!DOCTYPE html>\n<html lang=\"en-US\">\n<head>\n<meta name=\"viewport\" content=\"width=device-width\" />\n"
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\" />\n"
            "<meta name=\"robots\" content=\"noindex, nofollow\" />\n"
            "<title>Application authentication request</title>\n</head>\n"
            "<body class=\"wc-auth wp-core-ui\">\n<h1 id=\"wc-logo\">WooCommerce</h1>\n"
            f"<div class=\"wc-auth-content\">\n{body}\n</div>\n</body>\n</html>\n")


def _notices(errors: list[str]) -> str:
    """wc_print_notices(): error notices are trusted HTML (WordPress' own texts)."""
    if not errors:
        return ""
    items = "".join(f"<li>{error}</li>" for error in errors)
    return f"<ul class=\"woocommerce-error\" role=\"alert\">{items}</ul>"


def login_form(app_name: str, deny_url: str, redirect_url: str, nonce: str, username: str,
               errors: list[str]) -> str:
    """templates/auth/form-login.php: posts to the page's own URL (no action attribute)."""
    app = escape(app_name)
    return _auth_page(
        f"<h1>{app} would like to connect to your store</h1>\n{_notices(errors)}\n"
        f"<p>To connect to {app} you need to be logged in. Log in to your store below, or "
        f"<a href=\"{escape(deny_url)}\">cancel and return to {app}</a></p>\n"
        "<form method=\"post\" class=\"wc-auth-login\">\n"
        "<p class=\"form-row form-row-wide\"><label for=\"username\">Username or email address&nbsp;"
        "<span class=\"required\">*</span></label>\n"
        f"<input type=\"text\" class=\"input-text\" name=\"username\" id=\"username\" value=\"{escape(username)}\" /></p>\n"
        "<p class=\"form-row form-row-wide\"><label for=\"password\">Password&nbsp;"
        "<span class=\"required\">*</span></label>\n"
        "<input class=\"input-text\" type=\"password\" name=\"password\" id=\"password\" /></p>\n"
        "<p class=\"wc-auth-actions\">\n"
        f"<input type=\"hidden\" id=\"woocommerce-login-nonce\" name=\"woocommerce-login-nonce\" value=\"{nonce}\" />\n"
        "<button type=\"submit\" class=\"button button-large button-primary wc-auth-login-button\" "
        "name=\"login\" value=\"Login\">Login</button>\n"
        f"<input type=\"hidden\" name=\"redirect\" value=\"{escape(redirect_url)}\" /></p>\n</form>")


def grant_access(app_name: str, scope_label: str, permissions: list[str], user: str, granted_url: str,
                 deny_url: str, logout_url: str) -> str:
    """templates/auth/form-grant-access.php (the ids on Approve/Deny are the sandbox's extra;
    WooCommerce itself only has the classes)."""
    app = escape(app_name)
    items = "".join(f"<li>{escape(p)}</li>" for p in permissions)
    return _auth_page(
        f"<h1>{app} would like to connect to your store</h1>\n"
        f"<p>This will give \"<strong>{app}</strong>\" <strong>{escape(scope_label)}</strong> access which "
        f"will allow it to:</p>\n<ul class=\"wc-auth-permissions\">{items}</ul>\n"
        f"<div class=\"wc-auth-logged-in-as\"><p>Logged in as {escape(user)} "
        f"<a href=\"{escape(logout_url)}\" class=\"wc-auth-logout\">Logout</a></p></div>\n"
        "<p class=\"wc-auth-actions\">\n"
        f"<a href=\"{escape(granted_url)}\" id=\"wc-auth-approve\" class=\"button button-primary wc-auth-approve\">Approve</a>\n"
        f"<a href=\"{escape(deny_url)}\" id=\"wc-auth-deny\" class=\"button wc-auth-deny\">Deny</a>\n</p>")


def wp_die(message: str, title: str) -> str:
    """_default_wp_die_handler(): wraps the (already escaped) message in a paragraph."""
    return ("<!DOCTYPE html>\n<html lang=\"en-US\">\n<head>\n<meta http-equiv=\"Content-Type\" "
            f"content=\"text/html; charset=utf-8\" />\n<title>{escape(title)}</title>\n</head>\n"
            f"<body id=\"error-page\">\n<div class=\"wp-die-message\"><p>{message}</p></div>\n</body>\n</html>\n")


def wp_login(action_url: str, redirect_to: str, username: str, error: str | None, message: str = "") -> str:
    """wp-login.php's login form (field names log/pwd, ids user_login/user_pass/wp-submit)."""
    notice = f"<div id=\"login_error\" class=\"notice notice-error\">{error}</div>\n" if error else ""
    if message:
        notice += f"<p class=\"message\">{escape(message)}</p>\n"
    return ("<!DOCTYPE html>\n<html lang=\"en-US\">\n<head>\n<meta http-equiv=\"Content-Type\" "
            "content=\"text/html; charset=UTF-8\" />\n<title>Log In</title>\n</head>\n"
            f"<body class=\"login wp-core-ui\">\n<div id=\"login\">\n<h1>WordPress</h1>\n{notice}"
            f"<form name=\"loginform\" id=\"loginform\" action=\"{escape(action_url)}\" method=\"post\">\n"
            "<p><label for=\"user_login\">Username or Email Address</label>\n"
            f"<input type=\"text\" name=\"log\" id=\"user_login\" class=\"input\" value=\"{escape(username)}\" "
            "size=\"20\" autocapitalize=\"off\" autocomplete=\"username\" required=\"required\" /></p>\n"
            "<div class=\"user-pass-wrap\"><label for=\"user_pass\">Password</label>\n"
            "<input type=\"password\" name=\"pwd\" id=\"user_pass\" class=\"input password-input\" value=\"\" "
            "size=\"20\" autocomplete=\"current-password\" required=\"required\" /></div>\n"
            "<p class=\"submit\"><input type=\"submit\" name=\"wp-submit\" id=\"wp-submit\" "
            "class=\"button button-primary button-large\" value=\"Log In\" />\n"
            f"<input type=\"hidden\" name=\"redirect_to\" value=\"{escape(redirect_to)}\" /></p>\n"
            "</form>\n</div>\n</body>\n</html>\n")


def confirm_logout(logout_url: str) -> str:
    """wp_nonce_ays('log-out'): a logout link without a valid nonce asks first."""
    return wp_die("You are attempting to log out of the shop</p><p>Do you really want to "
                  f"<a href=\"{escape(logout_url)}\">log out</a>?", "Something went wrong.")
