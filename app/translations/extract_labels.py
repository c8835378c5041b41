"""A Babel extractor: Python's own `_()` calls, plus the values of label dicts.

Templates translate some labels held in module-level dicts (`{{ _(label) }}`), which a plain
extraction cannot see. babel.cfg names those dicts; their string values are extracted here as
msgids too. Only the source is read (never imported), so the app's settings do not matter.
"""

from __future__ import annotations

import ast
import io
from collections.abc import Iterator
from typing import IO, Any

from babel.messages.extract import extract_python


def extract(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[Any, ...]]:
    """Babel's extractor interface: yields (lineno, funcname, message, comments)."""
    source = fileobj.read()
    yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)
    wanted = set(str(options.get("label_dicts", "")).replace(",", " ").split())
    if not wanted:
        return
    for node in ast.parse(source, filename=getattr(fileobj, "name", "<source>")).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        names = [t.id for t in targets if isinstance(t, ast.Name) and t.id in wanted]
        if not names or not isinstance(value, ast.Dict):
            continue
        for label in value.values:
            if isinstance(label, ast.Constant) and isinstance(label.value, str):
                yield label.lineno, None, label.value, [f"Label from {names[0]}."]
