def transfer(account, user):
    assert user.is_authenticated and account.owner == user  # both required
    assert not user.is_staff or user.is_superuser
    assert not account.frozen_for_access
