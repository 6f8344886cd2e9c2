"""Defences that apply to the whole site: headers, the secret key, input checks,
rate limits, and the redaction of secrets from everything the site writes."""
