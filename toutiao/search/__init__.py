"""Article search: queries, suggestions, search history and keeping the index in step.

- ``service``: E04-E07 (search with paging and history, suggestions, history);
- ``indexer``: search documents from the database, one article or all of them (reindex);
- ``tasks``: the durable queue that carries article changes to the index;
- ``cli``: ``toutiao search reindex``.

The engine itself (Tantivy or Elasticsearch) lives in ``toutiao.engines.search``.
"""
