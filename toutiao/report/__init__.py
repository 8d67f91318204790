"""Readers' reports on articles (``news_report``): filed by the app (E46), processed by staff."""
