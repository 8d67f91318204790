"""Site announcements shown in the app (app.md E02-E03, reference-facts §5.11)."""
