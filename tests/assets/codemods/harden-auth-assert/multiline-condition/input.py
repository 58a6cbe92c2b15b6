def grant(role, user):
    assert (
        role in user.allowed_roles  # from the directory
        and user.active
    ), "role not allowed"
