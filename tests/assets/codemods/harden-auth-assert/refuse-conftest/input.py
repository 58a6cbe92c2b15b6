import pytest


@pytest.fixture
def admin(user):
    assert user.is_admin
    return user
