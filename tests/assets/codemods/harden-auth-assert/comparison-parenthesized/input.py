def approve(user, request, level):
    assert user.access_level >= level
    assert request.user == user.owner, "only the owner approves"
    assert 0 < user.auth_level <= 3
    assert user.role in ("admin", "staff") and user.active
    assert request.user in user.delegates or user.is_superuser
    return level
