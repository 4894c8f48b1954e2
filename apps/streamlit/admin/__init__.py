"""For admins: users and roles, document templates and the clause library."""
