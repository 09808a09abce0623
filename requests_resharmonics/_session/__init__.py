"""What `ResharmonicsSession` is made of, besides the auth: requests-oauthlib's idioms."""
