"""Security headers added to every response, error pages included."""

from flask import Flask, Response

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: https://www.gravatar.com; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
REFERRER_POLICY = "strict-origin-when-cross-origin"
HSTS = "max-age=31536000; includeSubDomains"
# What every response carries, whatever the settings.
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def fixed_headers_of(app: Flask) -> dict[str, str]:
    """The headers every response of ``app`` carries, whatever the page."""
    fixed_headers = dict(SECURITY_HEADERS)
    # HTTPS only: a browser that saw HSTS over plain HTTP would lock a local site out.
    if app.config["SESSION_COOKIE_SECURE"]:
        fixed_headers["Strict-Transport-Security"] = HSTS
    return fixed_headers


def init_app(app: Flask) -> None:
    fixed_headers = fixed_headers_of(app)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        response.headers.update(fixed_headers)
        # A page may ask for a stricter one: "no-referrer" where its own address
        # holds a secret (a password reset link).
        response.headers.setdefault("Referrer-Policy", REFERRER_POLICY)
        return response
