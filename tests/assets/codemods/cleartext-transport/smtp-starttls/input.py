import smtplib
import ssl


def send_with_starttls(message, password):
    with smtplib.SMTP("smtp.example.com", 587) as server:
        server.starttls(context=ssl.create_default_context())
        server.login("app@example.com", password)
        server.send_message(message)


def connect():
    # STARTTLS happens in another function: this one alone sends in clear text.
    return smtplib.SMTP("smtp.example.com", 587)


def secure(server):
    server.starttls()
    return server


def local_relay(message):
    # The local MTA relays the mail; nothing leaves the host unencrypted here.
    with smtplib.SMTP("localhost") as server:
        server.send_message(message)


def deferred_connect(message):
    server = smtplib.SMTP()
    server.connect("smtp.example.com")
    server.send_message(message)
