def publish(user, doc):
    if not user.has_permission("publish", doc):
        raise AssertionError(f"{user} may not publish {doc}")
    doc.publish()
