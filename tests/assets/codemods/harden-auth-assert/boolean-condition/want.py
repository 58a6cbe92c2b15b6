def transfer(account, user):
    if not (user.is_authenticated and account.owner == user):  # both required
        raise AssertionError
    if not (not user.is_staff or user.is_superuser):
        raise AssertionError
    if account.frozen_for_access:
        raise AssertionError
