"""For every page: the signed-in user, sidebar scope, layout, charts, links and shared reads."""
