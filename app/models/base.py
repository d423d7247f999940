"""The base class of every model.

``db.Model`` is made at run time (Flask-SQLAlchemy builds it from ``extensions.Base``), so a type
checker cannot see it as a class; to the checker the base is ``Base`` itself, which has the same
mapped behaviour."""

from typing import TYPE_CHECKING

from ..extensions import Base, db

if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model

__all__ = ["Model"]
