"""Control characters are refused in every text a user hands a loader.

A NUL byte passes UTF-8 decoding and CSV parsing, then makes the graph server refuse the
statement it lands in — after the statements before it in the same batch were applied, since
FalkorDB cannot roll a MULTI/EXEC block back. So a file with one is refused whole, before the
first write, naming the line and column. Tabs and line ends are layout, not content.
"""

from __future__ import annotations

import re
from pathlib import Path

from ecobrain.kb_loaders.errors import LoadError

# C0 controls but tab, LF, CR; DEL; C1 controls; the Unicode non-characters FFFE/FFFF
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def refuse_control_characters(text: str, file: str | Path) -> None:
    """Raise LoadError at the first control character of `text` (a file's whole content)."""
    found = _CONTROL.search(text)
    if found is None:
        return
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    raise LoadError(
        f"control character U+{ord(found.group()):04X} at column {column}: not allowed in "
        "text (remove it; nothing was loaded)", file=file, line=line, field="text")
