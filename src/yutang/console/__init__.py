"""The operator console: server-rendered pages (Jinja2 + htmx + ECharts) over the domains."""
