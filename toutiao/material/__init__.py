"""An author's image library (``user_material``): upload, list, star, delete (mp.md §3.12-3.15)."""
