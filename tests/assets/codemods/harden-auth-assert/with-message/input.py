def publish(user, doc):
    assert user.has_permission("publish", doc), f"{user} may not publish {doc}"
    doc.publish()
