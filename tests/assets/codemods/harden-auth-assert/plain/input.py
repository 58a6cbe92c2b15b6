def delete_user(request, user_id):
    assert request.user.is_admin
    return user_id
