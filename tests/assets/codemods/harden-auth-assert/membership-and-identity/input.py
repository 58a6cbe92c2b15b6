def grant(role, user, session):
    assert role in user.allowed_roles
    assert user.owner is session.user, "not the owner"
    assert role not in user.denied_roles
    assert user.auth_token is not None
    assert (
        role in user.permissions  # from the directory
    )
    return role
