"""What `ResharmonicsSession` is made of: `OAuth2Session`'s token half, and its idioms."""
