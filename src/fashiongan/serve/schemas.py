"""Request bodies of the web API, with a limit on every field (a bad value is a 422, never a 500).

Choices that depend on what is shipped (generator and classifier names, fabrics) are enums built when
the app is created, so /openapi.json lists exactly what this install can do.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model

from fashiongan.data import colored
from fashiongan.lookbook.capabilities import Capabilities

MAX_IMAGES = 64
MAX_ATTRIBUTES = 8
MAX_SEED = 2**31 - 1
MAX_WEB_OUTFITS = 12
TOKEN = r"^[0-9a-f]{12}$"
ITEM_ID = r"^[a-z0-9-]{1,80}$"


def _choice(values: list[str] | tuple[str, ...]) -> Any:
    return Literal[tuple(values)]  # type: ignore[valid-type]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LockRequest(Strict):
    lookbook: str = Field(pattern=TOKEN, description="The id of an earlier lookbook of this server.")
    item: str = Field(pattern=ITEM_ID, description="The id of the item to keep.")


class LookbookRequest(Strict):
    outfits: int = Field(6, ge=1, le=MAX_WEB_OUTFITS)
    seed: Optional[int] = Field(None, ge=0, le=MAX_SEED, description="Default 0; with lock, the earlier seed + 1.")
    lock: Optional[LockRequest] = None


def generate_request(capabilities: Capabilities) -> type[BaseModel]:
    """The body of POST /api/generate: its enums list the generators on offer and the classes and colours they
    declare (a class the chosen model lacks is then a 422 from the library, naming its classes)."""
    names = [g.name for g in capabilities.generators]
    classes = list(dict.fromkeys(c for g in capabilities.generators for c in g.conditions.classes or ()))
    colours = list(dict.fromkeys(c for g in capabilities.generators for c in g.conditions.colours or ()))
    field = (Optional[_choice(classes)], Field(None, description="A class of the chosen model; none cycles through them."))
    return create_model(
        "GenerateRequest",
        __base__=Strict,
        model=(_choice(names), Field(capabilities.generator.name, description="A generator: shipped, or one served with --model.")),
        label=field if classes else (type(None), None),
        colour=(Optional[_choice(colours + [colored.AUTO])] if colours else type(None),
                Field(None, description="A colour the chosen model takes (generators that take one).")),
        attributes=(Optional[list[Annotated[str, Field(max_length=64)]]],
                    Field(None, max_length=MAX_ATTRIBUTES,
                          description="NAME=VALUE attributes for generators that take them (category=dress, colour=navy).")),
        n=(int, Field(6, ge=1, le=MAX_IMAGES)),
        seed=(int, Field(0, ge=0, le=MAX_SEED)),
    )
