"""`amlexec history serve` and `amlexec history report`: run history in a browser.

Imported only by those two commands (tests/e2e/test_lazy_imports.py): nothing else pays for the server.
"""
