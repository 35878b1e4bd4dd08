"""WeCom (企业微信): signed and encrypted callbacks, the API client and a local simulator.

``crypto`` and ``messages`` are the protocol; ``callbacks`` turns a verified callback into
pool events and connector state; ``client`` calls WeCom's API; ``simulator`` plays WeCom on
localhost for tests and the demo.
"""
