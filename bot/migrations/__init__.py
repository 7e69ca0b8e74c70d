"""The schema's revisions, for Alembic: env.py and one module per revision in versions/.
bot/store/schema.py runs them; README.md (Development) says how to add one."""
