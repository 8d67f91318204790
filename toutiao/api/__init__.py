"""HTTP surfaces. Path convertors (``{target:id}``, ``{mobile:mobile}``) register on import,
before any router declares a path that uses them."""

from toutiao.api.types import register_convertors

register_convertors()
