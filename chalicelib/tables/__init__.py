"""Table definitions (SQLAlchemy Core), one module per area, one shared ``metadata``.

Migrations in ``migrations/versions`` create these tables; the modules here are
how code refers to them.
"""

from sqlalchemy import MetaData

metadata = MetaData()
