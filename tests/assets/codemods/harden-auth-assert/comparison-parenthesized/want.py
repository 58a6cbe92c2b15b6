def approve(user, request, level):
    if not (user.access_level >= level):
        raise AssertionError
    if not (request.user == user.owner):
        raise AssertionError("only the owner approves")
    if not (0 < user.auth_level <= 3):
        raise AssertionError
    if not (user.role in ("admin", "staff") and user.active):
        raise AssertionError
    if not (request.user in user.delegates or user.is_superuser):
        raise AssertionError
    return level
