"""The conversation after a 401: judge the answer, renew, send again."""
