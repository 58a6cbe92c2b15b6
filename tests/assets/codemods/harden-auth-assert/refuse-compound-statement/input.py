def delete(request):
    assert request.user.is_admin; request.delete()
