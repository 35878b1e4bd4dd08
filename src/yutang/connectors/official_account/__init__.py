"""WeChat Official Account (公众号): server URL verification, plaintext and safe (encrypted)
callbacks, followers entering the pool attributed to the channel code of a parametric QR
code (``qrscene_<state>``), and unsubscribes.

The safe mode is WeCom's envelope (``connectors.wecom.crypto``) with the AppID as receive id.
"""
