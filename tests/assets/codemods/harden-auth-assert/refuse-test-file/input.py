def test_admin(admin_user):
    assert admin_user.is_admin
