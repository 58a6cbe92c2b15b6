def delete_user(request, user_id):
    if not request.user.is_admin:
        raise AssertionError
    return user_id
