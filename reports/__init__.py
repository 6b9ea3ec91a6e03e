"""Monthly showback reports (Jinja2, e-mail): built on the warehouse tables."""
