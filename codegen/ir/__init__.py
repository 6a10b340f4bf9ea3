"""The intermediate representation of one spec: what every reader of the spec reads.

`leadkit.codegen.build.build_api` makes one `Api` per spec. The templates render it, `leadkit diff`
compares two of them, and the data the sandbox reads is derived from it. Everything here is
frozen and computed: templates do not work anything out for themselves.
"""

from .api import Api, Auth
from .models import NO_DEFAULT, AliasModel, ClassModel, EnumMember, EnumModel, Field, Model
from .operations import (
    UPLOAD_COUNTS,
    UPLOAD_STATUSES,
    WAIT_ARGUMENTS,
    Body,
    Dedupe,
    Operation,
    Param,
    Part,
    Poll,
    Response,
    Upload,
)
from .type_ref import SCALAR_HINTS, STDLIB_IMPORTS, TypeKind, TypeRef, union

__all__ = [
    "NO_DEFAULT",
    "SCALAR_HINTS",
    "STDLIB_IMPORTS",
    "UPLOAD_COUNTS",
    "UPLOAD_STATUSES",
    "WAIT_ARGUMENTS",
    "AliasModel",
    "Api",
    "Auth",
    "Body",
    "ClassModel",
    "Dedupe",
    "EnumMember",
    "EnumModel",
    "Field",
    "Model",
    "Operation",
    "Param",
    "Part",
    "Poll",
    "Response",
    "TypeKind",
    "TypeRef",
    "Upload",
    "union",
]
