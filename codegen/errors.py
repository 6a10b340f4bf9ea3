"""The one error the generator reports to users: what is wrong, in which file, where."""

__all__ = ["Problems", "SpecError", "json_pointer", "pointer_parts"]


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


class Problems:
    """Where a reader's refusals go: raised at once (the generator), or collected and read on
    (`leadkit diff`, which compares specs the generator may refuse)."""

    def __init__(self, label: str, *, strict: bool = True) -> None:
        self.label = label
        self.strict = strict
        self.found: list[SpecError] = []

    def refuse(self, where: tuple[object, ...] | str, message: str) -> None:
        """Refuse what is at `where` (path parts or a JSON pointer): raise, or note it."""
        pointer = where if isinstance(where, str) else json_pointer(where)
        error = SpecError(self.label, pointer, message)
        if self.strict:
            raise error
        self.found.append(error)
