"""The book's own tooling (execution and stamps, status page, benchmark, translation build).

Never imported by a chapter's teaching code or by :mod:`aeutils`.
"""
