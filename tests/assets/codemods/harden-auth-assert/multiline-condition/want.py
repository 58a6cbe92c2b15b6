def grant(role, user):
    if not (
        role in user.allowed_roles  # from the directory
        and user.active
    ):
        raise AssertionError("role not allowed")
