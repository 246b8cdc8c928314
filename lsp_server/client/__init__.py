"""The client side of the protocol: ``qwen-lsp complete``, ``explain`` and ``replay`` drive a real server.

What the user sees: completions and explanations from the shell or CI, produced by the same server, over the
same stdio pipe and the same LSP messages an editor uses.
"""
