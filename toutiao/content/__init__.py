"""The authoring side of articles: writing, the review lifecycle, sensitive words.

- ``lifecycle``: one function per transition (save draft, submit, withdraw, delete, approve,
  reject, ban, unban; the comment switch), each callable from any surface with a session,
  the runtime, article ids and an ``Actor``; its docstring shows how.
- ``policy``: who may see and move which article, from which status.
- ``authoring``: checks and sanitising of what an author writes; ``sanitize``: the HTML
  allowlist and cover rules; ``sensitive``: the sensitive-word matcher.
- ``sync``: after a commit, search, caches, counters, lists and feeds follow (retried).
- ``service``: an author's own lists and articles; ``repository``: all of it in SQL.

The reading side (feeds, detail, the app's lists) stays in ``toutiao.article``.
"""
