"""The one error the generator reports to users: what is wrong, in which file, where."""

__all__ = ["SpecError", "json_pointer", "pointer_parts"]


def json_pointer(parts: object) -> str:
    """Build an RFC 6901 JSON pointer (``#/a/b~1c``) from path parts."""
    escaped = (str(p).replace("~", "~0").replace("/", "~1") for p in parts)  # type: ignore[attr-defined]
    return "#/" + "/".join(escaped)


def pointer_parts(ref: str) -> list[str]:
    """The unescaped parts of a local JSON pointer: ``#/a/b~1c`` -> ``["a", "b/c"]``."""
    if ref == "#":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in ref[2:].split("/")]


class SpecError(Exception):
    """A spec the generator cannot use; the message names the file and the JSON pointer."""

    def __init__(self, file: str, pointer: str, message: str) -> None:
        self.file = file
        self.pointer = pointer
        self.message = message
        super().__init__(f"{file}: {pointer}: {message}")
