def delete(request):
    assert request.user.is_admin  # noqa: S101 - checked by the gateway too
