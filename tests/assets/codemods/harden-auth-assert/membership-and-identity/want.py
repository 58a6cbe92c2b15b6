def grant(role, user, session):
    if role not in user.allowed_roles:
        raise AssertionError
    if user.owner is not session.user:
        raise AssertionError("not the owner")
    if role in user.denied_roles:
        raise AssertionError
    if user.auth_token is None:
        raise AssertionError
    if (
        role not in user.permissions  # from the directory
    ):
        raise AssertionError
    return role
