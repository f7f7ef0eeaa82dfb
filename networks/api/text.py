"""Text a client sends in a body that no Django form checks: PostgreSQL takes no NUL character
(a query with one fails: a 500), so such a field refuses it (422). Forms refuse it themselves
(Django's ProhibitNullCharactersValidator), and networks.api.site refuses it in paths and query
strings for every operation."""

from typing import Annotated

from ninja import Field

NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, Field(max_length=255, pattern=NO_NUL)]
